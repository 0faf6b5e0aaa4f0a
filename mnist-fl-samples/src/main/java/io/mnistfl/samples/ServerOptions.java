package io.mnistfl.samples;

import io.mnistfl.fl.grpc.GrpcServer;
import io.mnistfl.fl.grpc.QuickStartPki;
import io.mnistfl.fl.grpc.TlsFiles;
import io.mnistfl.model.ModelSpec;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine.Option;

/** {@code --listen} and its TLS options: federate with sites that dial in over gRPC. */
final class ServerOptions {
  @Option(
      names = "--listen",
      paramLabel = "HOST:PORT",
      description =
          "Federate sites that dial in over gRPC (`client --server`) instead of"
              + " simulating them; the server listens on this one port and opens no connection.")
  Optional<String> listen;

  @Option(
      names = "--pki",
      paramLabel = "DIR",
      description = "A folder made by `certs`: server.pem, server.key, ca.pem, allowlist.txt.")
  Optional<Path> pki;

  @Option(
      names = "--tls-cert",
      paramLabel = "FILE",
      description = "Your own PKI: the server's certificate chain (PEM).")
  Optional<Path> cert;

  @Option(
      names = "--tls-key",
      paramLabel = "FILE",
      description = "Your own PKI: the server's private key (PKCS#8 PEM).")
  Optional<Path> key;

  @Option(
      names = "--client-ca",
      paramLabel = "FILE",
      description = "Your own PKI: the CA certificate the sites' certificates chain to.")
  Optional<Path> clientCa;

  @Option(
      names = "--allowlist",
      paramLabel = "FILE",
      description =
          "Your own PKI: the allow-list. The server does not start without a readable,"
              + " well-formed one; it re-reads it every second (a certificate removed or revoked"
              + " is cut off; a broken edit is reported and the last good list kept).")
  Optional<Path> allowList;

  @Option(
      names = "--insecure",
      description = "No TLS and no identities: loopback experiments only.")
  boolean insecure;

  @Option(
      names = "--min-sites",
      paramLabel = "N",
      defaultValue = "1",
      description =
          "Before each round, wait for at least N connected sites (default:"
              + " ${DEFAULT-VALUE}), up to --site-wait.")
  int minSites;

  @Option(
      names = "--site-wait",
      paramLabel = "SECONDS",
      defaultValue = "300",
      description =
          "The longest wait for --min-sites before a round starts with fewer"
              + " (default: ${DEFAULT-VALUE}).")
  double siteWait;

  boolean remote() {
    return listen.isPresent();
  }

  /** Fails on a missing or contradictory option before anything starts. */
  void check() {
    if (!remote()) {
      if (pki.isPresent() || cert.isPresent() || insecure) {
        throw new IllegalArgumentException("--pki, --tls-cert and --insecure go with --listen");
      }
      return;
    }
    address();
    boolean own =
        cert.isPresent() || key.isPresent() || clientCa.isPresent() || allowList.isPresent();
    if (insecure && (pki.isPresent() || own)) {
      throw new IllegalArgumentException("--insecure takes no certificates");
    }
    if (!insecure
        && pki.isEmpty()
        && !(cert.isPresent()
            && key.isPresent()
            && clientCa.isPresent()
            && allowList.isPresent())) {
      throw new IllegalArgumentException(
          "--listen needs --pki DIR, or all of --tls-cert,"
              + " --tls-key, --client-ca and --allowlist, or --insecure for loopback experiments");
    }
    if (minSites < 1) {
      throw new IllegalArgumentException("--min-sites must be >= 1, was " + minSites);
    }
  }

  InetSocketAddress address() {
    return Addresses.parse(listen.orElseThrow(), "--listen");
  }

  /** Starts the server; its events go to stderr. */
  GrpcServer start(ModelSpec spec) throws IOException {
    GrpcServer.Builder b =
        GrpcServer.builder(spec)
            .listen(address())
            .events(
                new GrpcServer.Events() {
                  @Override
                  public void joined(String who, List<String> sites) {
                    System.err.println("server: " + who + " joined as " + summary(sites));
                  }

                  @Override
                  public void left(String who, String why) {
                    System.err.println("server: " + who + " left: " + why);
                  }

                  @Override
                  public void refused(String who, String why) {
                    System.err.println("server: refused " + who + ": " + why);
                  }
                });
    if (insecure) {
      System.err.println(
          "WARNING: --insecure: no TLS and no site identities. Anyone who can"
              + " reach this port may pose as any site and read the model. Loopback experiments"
              + " only.");
      b.insecure();
    } else if (pki.isPresent()) {
      QuickStartPki.Layout layout = new QuickStartPki.Layout(pki.get());
      b.tls(layout.server(), layout.allowList());
    } else {
      b.tls(new TlsFiles(cert.get(), key.get(), clientCa.get()), allowList.get());
    }
    GrpcServer server = b.build().start();
    System.out.printf(
        "server: listening on %s:%d (%s); sites dial in with `client --server`%n",
        address().getHostString(), server.port(), insecure ? "INSECURE" : "mutual TLS");
    return server;
  }

  /** The CA certificate the sites' certificates chain to. */
  Path caCertificate() {
    return pki.map(p -> new QuickStartPki.Layout(p).caCertificate())
        .orElseGet(() -> clientCa.orElseThrow());
  }

  Duration siteWaitDuration() {
    return Duration.ofMillis(Math.round(siteWait * 1e3));
  }

  static String summary(List<String> sites) {
    return sites.size() <= 4
        ? sites.toString()
        : sites.size() + " sites [" + sites.get(0) + " … " + sites.get(sites.size() - 1) + "]";
  }
}
