package io.mnistfl.samples;

import io.mnistfl.data.DataSource;
import io.mnistfl.fl.grpc.FederationEnd;
import io.mnistfl.fl.grpc.GrpcSiteHost;
import io.mnistfl.fl.grpc.QuickStartPki;
import io.mnistfl.fl.grpc.TlsFiles;
import io.mnistfl.fl.secagg.CertificateIdentities;
import io.mnistfl.fl.secagg.IdentityVerifier;
import io.mnistfl.fl.site.ClientRuntime;
import io.mnistfl.fl.site.SiteLimits;
import io.mnistfl.flower.FlowerSuperNode;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.tf.TfClient;
import io.mnistfl.tf.TfWorkers;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** A site (or a simulation host of many) that dials out to `federate --listen`. */
@Command(
    name = "client",
    mixinStandardHelpOptions = true,
    description =
        "Take part in a federation as a site: dial out to `federate --listen` over"
            + " gRPC with mutual TLS (this process never listens), learn the model from the server,"
            + " and train on the site's own pictures (--images) or, as a demo, on part K of N of"
            + " MNIST's training set. Only weights leave it. With --simulate-sites it hosts a range"
            + " of simulated sites on one model pool. Reconnects by itself; exits 0 when the"
            + " server says the federation finished, 1 when it refuses the site. With"
            + " --flower-superlink it joins a Flower federation instead, as a Flower SuperNode"
            + " (one per simulated site) that Flower's strategies cannot tell from a Python one;"
            + " it then runs until stopped.")
final class ClientCommand implements Callable<Integer> {
  @Option(
      names = "--server",
      paramLabel = "HOST:PORT",
      description = "The server to dial; its certificate must name HOST.")
  String server;

  @Option(
      names = "--id",
      paramLabel = "ID",
      description =
          "This site's id and certificate name (default: the --cert's common name,"
              + " else client-<index>); with --simulate-sites, the host's certificate name.")
  Optional<String> id;

  @Option(
      names = "--pki",
      paramLabel = "DIR",
      description = "A folder made by `certs`: sites/<ID>.pem, sites/<ID>.key and ca.pem.")
  Optional<Path> pki;

  @Option(
      names = "--cert",
      paramLabel = "FILE",
      description = "Your own PKI: this site's certificate chain (PEM).")
  Optional<Path> cert;

  @Option(
      names = "--key",
      paramLabel = "FILE",
      description = "Your own PKI: this site's private key (PKCS#8 PEM).")
  Optional<Path> key;

  @Option(
      names = "--ca",
      paramLabel = "FILE",
      description = "Your own PKI: the CA certificate the server's certificate chains to.")
  Optional<Path> ca;

  @Option(
      names = "--insecure",
      description = "No TLS: only against an --insecure server on loopback.")
  boolean insecure;

  @Option(
      names = "--index",
      defaultValue = "0",
      description = "K: which of the --clients parts this site holds (default: ${DEFAULT-VALUE}).")
  int index;

  @Option(
      names = "--simulate-sites",
      paramLabel = "M",
      description =
          "Host M simulated sites, parts --index-range of --clients, on one model"
              + " pool, with one certificate (--id) the allow-list grants their ids.")
  Optional<Integer> simulateSites;

  @Option(
      names = "--index-range",
      paramLabel = "A-B",
      description = "With --simulate-sites: the parts A to B (inclusive) to host.")
  Optional<String> indexRange;

  @Option(
      names = "--federated-eval",
      paramLabel = "FRACTION",
      description =
          "Hold out this share of each site's data to evaluate the global model"
              + " (default: none; 0.1 with --flower-superlink, whose strategies evaluate).")
  Optional<Double> heldOut;

  @Option(
      names = "--seed",
      defaultValue = "42",
      description =
          "Seed of the split; the same N, partition and seed give disjoint parts"
              + " (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--max-local-epochs",
      defaultValue = "20",
      description =
          "Refuse a server asking for more local epochs a round" + " (default: ${DEFAULT-VALUE}).")
  int maxLocalEpochs;

  @Option(
      names = "--max-examples-per-round",
      defaultValue = "2000000",
      description =
          "Refuse a server asking for more training examples a round, epochs times"
              + " local examples (default: ${DEFAULT-VALUE}).")
  long maxExamplesPerRound;

  @Option(
      names = "--max-backoff",
      paramLabel = "SECONDS",
      defaultValue = "30",
      description =
          "The longest wait between attempts to reach the server (default:"
              + " ${DEFAULT-VALUE}); waits start at half a second and double.")
  double maxBackoff;

  @Option(
      names = "--workers",
      paramLabel = "K",
      description =
          "Model workers (default: one per core for small batches, else one per two" + " cores).")
  Optional<Integer> workers;

  /** The certificate and key this process connects with, unless --insecure. */
  private Optional<TlsFiles> connection = Optional.empty();

  @Mixin FlowerOptions flower;
  @Mixin ImagesOption images;
  @Mixin PartitionOptions parts;
  @Mixin DataOptions data;
  @Mixin ThreadOptions threads;

  @Override
  public Integer call() throws Exception {
    if (flower.superlink.isPresent()) {
      try (FlowerSuperNode node = FlowerSite.start(this)) {
        Runtime.getRuntime().addShutdownHook(new Thread(node::close));
        new CountDownLatch(1).await();
      }
      return 0;
    }
    try (GrpcSiteHost host = start()) {
      Runtime.getRuntime().addShutdownHook(new Thread(host::close));
      // Until the server says the federation is over; a server that only stops is dialled again.
      FederationEnd end = host.awaitEnd(Duration.ofDays(365_000)).orElseThrow();
      System.out.println(
          "the federation "
              + (end.reason() == FederationEnd.Reason.FINISHED ? "finished" : "refused this site")
              + ": "
              + end.detail());
      return end.reason() == FederationEnd.Reason.FINISHED ? 0 : 1;
    }
  }

  /** The parts this process hosts: one, or the --index-range of a simulation host. */
  int[] indices() {
    if (simulateSites.isEmpty()) {
      if (index < 0 || index >= parts.clients) {
        throw new IllegalArgumentException(
            "--index must be in [0, " + parts.clients + "), was " + index);
      }
      return new int[] {index};
    }
    String range =
        indexRange.orElseThrow(
            () -> new IllegalArgumentException("--simulate-sites needs --index-range A-B"));
    String[] ends = range.split("-", 2);
    try {
      int from = Integer.parseInt(ends[0]);
      int to = Integer.parseInt(ends[1]);
      if (from < 0 || to < from || to >= parts.clients || to - from + 1 != simulateSites.get()) {
        throw new IllegalArgumentException(
            "--index-range "
                + range
                + " must hold "
                + simulateSites.get()
                + " parts within 0.."
                + (parts.clients - 1));
      }
      return IntStream.rangeClosed(from, to).toArray();
    } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
      throw new IllegalArgumentException("--index-range takes A-B, was " + range);
    }
  }

  /** Site ids as simulations name them: client-000, … (more digits for more clients). */
  String siteId(int part) {
    int digits = Math.max(3, String.valueOf(parts.clients - 1).length());
    return String.format("client-%0" + digits + "d", part);
  }

  /** Dials the server and starts answering; returns at once. */
  GrpcSiteHost start() throws IOException {
    if (server == null || flower.superlink.isPresent()) {
      throw new IllegalArgumentException(
          "client needs one of --server HOST:PORT and --flower-superlink HOST:PORT");
    }
    if (flower.model.isPresent()
        || flower.rootCertificates.isPresent()
        || flower.authKey.isPresent()) {
      throw new IllegalArgumentException(
          "--model, --root-certificates and --auth-key are for --flower-superlink; a --server"
              + " sends its model and authenticates with --pki or --cert/--key/--ca");
    }
    InetSocketAddress address = Addresses.parse(server, "--server");
    parts.partitioning();
    int[] mine = indices();
    if (images.dir.isPresent() && simulateSites.isPresent()) {
      throw new IllegalArgumentException(
          "--images is one site's own pictures; it cannot be" + " split into --simulate-sites");
    }
    if (id.isEmpty() && cert.isPresent()) {
      // Your own PKI: the certificate names the site.
      try {
        id = Optional.of(CertificateIdentities.siteId(cert.get()));
      } catch (IOException e) {
        throw new IOException(e.getMessage() + "; give --id", e);
      }
    }
    List<String> ids = new ArrayList<>();
    if (simulateSites.isEmpty()) {
      ids.add(id.orElse(siteId(index)));
    } else {
      for (int part : mine) {
        ids.add(siteId(part));
      }
    }
    String certName = id.orElse(ids.get(0));
    SiteLimits limits = new SiteLimits(maxLocalEpochs, maxExamplesPerRound, 1024);
    GrpcSiteHost.Builder b =
        GrpcSiteHost.builder(address.getHostString(), address.getPort())
            .sites(ids)
            .parallelism(workerCount(ModelSpec.baseline()))
            .backoff(
                Duration.ofMillis(500),
                Duration.ofMillis(Math.max(500, Math.round(maxBackoff * 1e3))))
            .runtimes(spec -> runtimes(spec, ids, mine, limits))
            .events(
                new GrpcSiteHost.Events() {
                  @Override
                  public void joined(List<String> sites) {
                    System.out.println("joined " + server + " as " + ServerOptions.summary(sites));
                  }

                  @Override
                  public void disconnected(String why, Duration retryIn) {
                    System.out.printf(
                        "disconnected: %s; trying again in %.1fs%n", why, retryIn.toMillis() / 1e3);
                  }
                });
    if (insecure) {
      System.err.println(
          "WARNING: --insecure: no TLS; the weights cross the network in the"
              + " clear and the server is not authenticated. Loopback experiments only.");
      b.insecure();
    } else if (pki.isPresent()) {
      connection = Optional.of(new QuickStartPki.Layout(pki.get()).site(certName));
      b.tls(connection.get());
    } else if (cert.isPresent() && key.isPresent() && ca.isPresent()) {
      connection = Optional.of(new TlsFiles(cert.get(), key.get(), ca.get()));
      b.tls(connection.get());
    } else {
      throw new IllegalArgumentException(
          "client needs --pki DIR, or --cert, --key and --ca,"
              + " or --insecure against an insecure server on loopback");
    }
    System.out.printf(
        "%s: dialling %s as %s (%s)%n",
        certName, server, ServerOptions.summary(ids), insecure ? "INSECURE" : "mutual TLS");
    return b.build().start();
  }

  /**
   * The certificate a site signs its secure-aggregation messages with: the connection's for a
   * single site; a simulated site's own from --pki, where `certs` made one.
   */
  Optional<TlsFiles> identityFiles(String siteId) {
    if (simulateSites.isEmpty() || connection.isEmpty()) {
      return connection;
    }
    // TlsFiles requires its files: look before making one.
    return pki.filter(
            dir -> java.nio.file.Files.isRegularFile(dir.resolve("sites").resolve(siteId + ".pem")))
        .map(dir -> new QuickStartPki.Layout(dir).site(siteId));
  }

  int workerCount(ModelSpec spec) {
    return workers.orElse(TfWorkers.suggested(spec, threads.tfOptions().threads()));
  }

  /** Loads the data and builds each site's runtime once the server's model is known. */
  private Map<String, ClientRuntime> runtimes(
      ModelSpec spec, List<String> ids, int[] mine, SiteLimits limits) throws IOException {
    DataSource local;
    List<int[]> partsOfMine = new ArrayList<>();
    String source;
    if (images.dir.isPresent()) {
      local = images.load().images();
      partsOfMine.add(IntStream.range(0, local.size()).toArray());
      source = local.name();
    } else {
      local = data.load().train();
      List<int[]> split = parts.split(local, seed);
      for (int part : mine) {
        partsOfMine.add(split.get(part));
      }
      source =
          (mine.length == 1 ? "part " + mine[0] : "parts " + mine[0] + "-" + mine[mine.length - 1])
              + " of "
              + parts;
    }
    int k = workerCount(spec);
    int perWorker = Math.max(1, threads.tfOptions().threads() / k);
    TfWorkers pool = TfWorkers.create(spec, k, perWorker);
    Map<String, ClientRuntime> runtimes = new LinkedHashMap<>();
    long examples = 0;
    List<String> unsigned = new ArrayList<>();
    // One verifier for all the sites of this process: each certificate and signature is
    // checked once.
    Optional<IdentityVerifier> verifier =
        connection.isEmpty()
            ? Optional.empty()
            : Optional.of(CertificateIdentities.verifier(connection.get().trustedCa()));
    for (int i = 0; i < ids.size(); i++) {
      TfClient site =
          TfClient.ofPart(ids.get(i), pool, local, partsOfMine.get(i), heldOut.orElse(0.0));
      ClientRuntime runtime = ClientRuntime.of(site, limits);
      Optional<TlsFiles> identity = identityFiles(ids.get(i));
      if (identity.isPresent()) {
        runtime =
            CertificateIdentities.secure(
                runtime,
                identity.get().certificateChain(),
                identity.get().privateKey(),
                verifier.orElseThrow());
      } else {
        unsigned.add(ids.get(i));
      }
      runtimes.put(ids.get(i), runtime);
      examples += site.numExamples();
    }
    if (!unsigned.isEmpty() && !insecure) {
      System.out.println(
          "secure aggregation: "
              + ServerOptions.summary(unsigned)
              + " hold no"
              + " certificate of their own (sites/<ID>.pem in --pki) and cannot take part in it");
    }
    System.out.printf(
        "model %s from the server; %s, %,d training examples, %d worker%s%n",
        spec.name(), source, examples, k, k == 1 ? "" : "s");
    return runtimes;
  }
}
