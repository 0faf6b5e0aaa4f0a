package example.readme;

import io.mnistfl.fl.Transport;
import io.mnistfl.fl.site.ClientRuntime;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/** Carries the bytes of each exchange to a site and back, e.g. over a message queue. */
public final class MyTransport implements Transport {
  private final Map<String, ClientRuntime> sites; // stands in for your remote endpoints

  /** On each site, {@code ClientRuntime.of(client).handle(bytes)} answers a request. */
  public MyTransport(Map<String, ClientRuntime> sites) {
    this.sites = Map.copyOf(sites);
  }

  @Override
  public List<String> siteIds() {
    return List.copyOf(sites.keySet());
  }

  @Override
  public byte[] exchange(String siteId, byte[] request) throws IOException {
    ClientRuntime site = sites.get(siteId);
    if (site == null) {
      throw new IOException("no site " + siteId);
    }
    return site.handle(request); // in your app: send, then wait for the site's answer
  }
}
