package io.mnistfl.samples;

import io.mnistfl.data.DataSource;
import io.mnistfl.fl.site.SiteLimits;
import io.mnistfl.flower.FlowerSuperNode;
import io.mnistfl.flower.SuperNodeKey;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.tf.TfClient;
import io.mnistfl.tf.TfWorkers;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/** {@code client --flower-superlink}: the site's Flower SuperNode(s), wired from the options. */
final class FlowerSite {
  private FlowerSite() {}

  /** Loads the data, makes the nodes and starts them; returns at once. */
  static FlowerSuperNode start(ClientCommand c) throws IOException {
    FlowerOptions f = c.flower;
    if (c.server != null) {
      throw new IllegalArgumentException(
          "client needs one of --server HOST:PORT and --flower-superlink HOST:PORT");
    }
    InetSocketAddress address = Addresses.parse(f.superlink.orElseThrow(), "--flower-superlink");
    if (c.insecure == f.rootCertificates.isPresent()) {
      throw new IllegalArgumentException(
          "--flower-superlink needs exactly one of --insecure and --root-certificates CA.pem");
    }
    if (f.authKey.isPresent() && c.simulateSites.isPresent()) {
      throw new IllegalArgumentException(
          "--auth-key is one node's identity; --simulate-sites nodes register themselves");
    }
    if (c.pki.isPresent() || c.cert.isPresent() || c.key.isPresent() || c.ca.isPresent()) {
      throw new IllegalArgumentException(
          "--pki, --cert, --key and --ca belong to --server; a Flower SuperNode authenticates"
              + " with --auth-key");
    }
    long heartbeatMillis = Math.round(f.heartbeatInterval * 1000);
    if (!(heartbeatMillis >= 10_000 && heartbeatMillis <= 1_800_000)) {
      throw new IllegalArgumentException(
          "--heartbeat-interval must be 10 to 1800 seconds, was " + f.heartbeatInterval);
    }
    c.parts.partitioning();
    int[] mine = c.indices();
    if (c.images.dir.isPresent() && c.simulateSites.isPresent()) {
      throw new IllegalArgumentException(
          "--images is one site's own pictures; it cannot be split into --simulate-sites");
    }
    SuperNodeKey key = f.authKey.isPresent() ? SuperNodeKey.read(f.authKey.get()) : null;
    ModelSpec spec = ModelChoice.spec(f.model.orElse("baseline"));
    double heldOut = c.heldOut.orElse(0.1);
    DataSource local;
    List<int[]> partsOfMine = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    String source;
    if (c.images.dir.isPresent()) {
      local = c.images.load().images();
      partsOfMine.add(IntStream.range(0, local.size()).toArray());
      ids.add(c.id.orElse("site"));
      source = local.name();
    } else {
      local = c.data.load().train();
      List<int[]> split = c.parts.split(local, c.seed);
      for (int part : mine) {
        partsOfMine.add(split.get(part));
        ids.add(c.simulateSites.isEmpty() ? c.id.orElse(c.siteId(part)) : c.siteId(part));
      }
      source =
          (mine.length == 1 ? "part " + mine[0] : "parts " + mine[0] + "-" + mine[mine.length - 1])
              + " of "
              + c.parts;
    }
    int k = c.workerCount(spec);
    int perWorker = Math.max(1, c.threads.tfOptions().threads() / k);
    TfWorkers pool = TfWorkers.create(spec, k, perWorker);
    List<TfClient> clients = new ArrayList<>();
    long examples = 0;
    for (int i = 0; i < ids.size(); i++) {
      TfClient site = TfClient.ofPart(ids.get(i), pool, local, partsOfMine.get(i), heldOut);
      clients.add(site);
      examples += site.numExamples();
    }
    FlowerSuperNode.Builder b =
        FlowerSuperNode.builder(address.getHostString(), address.getPort())
            .model(spec)
            .clients(clients)
            .limits(new SiteLimits(c.maxLocalEpochs, c.maxExamplesPerRound, 1024))
            .parallelism(k)
            .heartbeatInterval(Duration.ofMillis(heartbeatMillis))
            .backoff(
                Duration.ofMillis(1000),
                Duration.ofMillis(Math.max(1000, Math.round(c.maxBackoff * 1e3))))
            .events(new Printed());
    if (key != null) {
      b.authKey(key);
    }
    if (c.insecure) {
      System.err.println(
          "WARNING: --insecure: no TLS; the weights cross the network in the clear and the"
              + " SuperLink is not authenticated. Loopback experiments only.");
      b.insecure();
    } else {
      b.rootCertificates(f.rootCertificates.get());
    }
    System.out.printf(
        "model %s; %s, %,d training examples, %.0f %% held out; %d worker%s; dialling Flower"
            + " SuperLink %s as %s (%s%s)%n",
        spec.name(),
        source,
        examples,
        heldOut * 100,
        k,
        k == 1 ? "" : "s",
        f.superlink.get(),
        ServerOptions.summary(ids),
        c.insecure ? "INSECURE" : "TLS",
        key == null ? ", self-registering" : ", key " + key.fingerprint());
    return b.build().start();
  }

  /** One line per event on the console. */
  private static final class Printed implements FlowerSuperNode.Events {
    @Override
    public void activated(String site, String nodeId) {
      System.out.println(site + ": node " + nodeId + " active");
    }

    @Override
    public void replied(String site, String messageType, String summary) {
      System.out.println(site + ": " + summary);
    }

    @Override
    public void refused(String site, String messageType, String reason) {
      System.out.println(site + ": error reply to " + messageType + ": " + reason);
    }

    @Override
    public void dropped(String site, String why) {
      System.out.println(site + ": dropped: " + why);
    }

    @Override
    public void stopped(String site, String why) {
      System.out.println(site + ": node stopped: " + why);
    }

    @Override
    public void disconnected(String site, String why, Duration retryIn) {
      System.out.printf(
          "%s: disconnected: %s; trying again in %.1fs%n", site, why, retryIn.toMillis() / 1e3);
    }
  }
}
