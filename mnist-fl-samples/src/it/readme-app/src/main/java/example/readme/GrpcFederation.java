package example.readme;

import io.mnistfl.data.StandardDataset;
import io.mnistfl.data.TrainTestData;
import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.grpc.FederationEnd;
import io.mnistfl.fl.grpc.GrpcServer;
import io.mnistfl.fl.grpc.GrpcSiteHost;
import io.mnistfl.fl.grpc.QuickStartPki;
import io.mnistfl.fl.server.Federation;
import io.mnistfl.fl.sim.Partitioning;
import io.mnistfl.fl.site.ClientRuntime;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.tf.TfClient;
import io.mnistfl.tf.TfModel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A server and two sites over gRPC with mutual TLS, here in one process on loopback; in a
 * deployment the server and each site run on machines of their own, and only the sites dial.
 */
public final class GrpcFederation {
  /** Returns the record of the round, and how the first site was told it ended. */
  public static Map.Entry<FederationHistory, FederationEnd> run() throws Exception {
    TrainTestData mnist = StandardDataset.MNIST.load();
    ModelSpec spec = ModelSpec.baseline();
    // A CA, the server's certificate, one per site and the allow-list; or your own PKI's files.
    QuickStartPki.Layout pki = QuickStartPki.create(
        Files.createTempDirectory("pki").resolve("tls"), List.of("localhost"),
        List.of("site-a", "site-b"));
    List<int[]> parts = new Partitioning.Iid().split(mnist.train().labels(), 10, 2, 42);
    try (GrpcServer server = GrpcServer.builder(spec)
            .listen(new InetSocketAddress("localhost", 0))
            .tls(pki.server(), pki.allowList())
            .build()
            .start();
        TfModel modelA = TfModel.create(spec);
        TfModel modelB = TfModel.create(spec);
        GrpcSiteHost a = site(pki, "site-a", server.port(), modelA, mnist, parts.get(0));
        GrpcSiteHost b = site(pki, "site-b", server.port(), modelB, mnist, parts.get(1))) {
      FederationHistory history = Federation.builder(spec, server) // the server is a Transport
          .minSites(2, Duration.ofMinutes(1))
          .rounds(1)
          .build()
          .run();
      server.finish("finished after 1 round"); // the sites are told, and stop dialling
      FederationEnd end = a.awaitEnd(Duration.ofSeconds(30)).orElseThrow();
      System.out.println(history.rounds().get(0).format() + "; site-a: " + end);
      return Map.entry(history, end);
    }
  }

  /** A site: it dials out with its own certificate and trains on its own part of the data. */
  static GrpcSiteHost site(QuickStartPki.Layout pki, String id, int port, TfModel model,
      TrainTestData mnist, int[] part) throws IOException {
    TfClient client = TfClient.ofPart(id, model, mnist.train(), part, 0);
    return GrpcSiteHost.builder("localhost", port)
        .tls(pki.site(id))
        .sites(List.of(id))
        .runtimes(serversSpec -> Map.of(id, ClientRuntime.of(client))) // SiteLimits by default
        .build()
        .start();
  }
}
