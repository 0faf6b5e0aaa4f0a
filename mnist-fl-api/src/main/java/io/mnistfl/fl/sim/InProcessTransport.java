package io.mnistfl.fl.sim;

import io.mnistfl.fl.Client;
import io.mnistfl.fl.Transport;
import io.mnistfl.fl.site.ClientRuntime;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Connects sites in this JVM, each behind its own {@link ClientRuntime}. Messages still go through
 * their byte encoding, so a simulation exercises exactly what a remote transport carries,
 * multi-stage protocols included.
 */
public final class InProcessTransport implements Transport {
  private final Map<String, ClientRuntime> sites = new LinkedHashMap<>();

  /**
   * Each client behind a runtime with the default site limits.
   *
   * @param clients the clients, one site each
   */
  public InProcessTransport(List<? extends Client> clients) {
    for (Client c : clients) {
      if (sites.put(c.id(), ClientRuntime.of(c)) != null) {
        throw new IllegalArgumentException("duplicate site id " + c.id());
      }
    }
  }

  /**
   * Runtimes of their own, e.g. with other limits.
   *
   * @param runtimes the runtimes, one site each
   * @return the transport
   */
  public static InProcessTransport ofRuntimes(List<ClientRuntime> runtimes) {
    InProcessTransport t = new InProcessTransport(List.of());
    for (ClientRuntime r : runtimes) {
      if (t.sites.put(r.siteId(), r) != null) {
        throw new IllegalArgumentException("duplicate site id " + r.siteId());
      }
    }
    return t;
  }

  @Override
  public List<String> siteIds() {
    return new ArrayList<>(sites.keySet());
  }

  @Override
  public byte[] exchange(String siteId, byte[] request) throws IOException {
    ClientRuntime site = sites.get(siteId);
    if (site == null) {
      throw new IOException("no site " + siteId + " in this process");
    }
    return site.handle(request);
  }
}
