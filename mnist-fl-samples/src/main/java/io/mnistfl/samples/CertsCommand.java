package io.mnistfl.samples;

import io.mnistfl.fl.grpc.QuickStartPki;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Makes a CA, certificates and an allow-list for a first federation over TLS. */
@Command(
    name = "certs",
    mixinStandardHelpOptions = true,
    description =
        "Make a CA, a server certificate, one certificate per site (EC P-256 keys,"
            + " PKCS#8 PEM) and the allow-list, in a folder that `federate --pki` and `client --pki`"
            + " read; keys are created with mode 600 in folders of mode 700, never over an existing"
            + " file or through a link. With --reissue, replace one site's certificate and revoke"
            + " the old one. For a quick start; an organisation with its own PKI makes the same"
            + " files with its own tools (see the README for openssl).")
final class CertsCommand implements Callable<Integer> {
  @Option(
      names = "--out",
      paramLabel = "DIR",
      required = true,
      description =
          "The folder to write (ca.pem, ca.key, server.pem, server.key, sites/,"
              + " allowlist.txt): a new one, or an empty one of mode 700.")
  Path out;

  @Option(
      names = "--sites",
      paramLabel = "ID,ID,...",
      split = ",",
      description = "The sites, one certificate each.")
  List<String> sites = new ArrayList<>();

  @Option(
      names = "--reissue",
      paramLabel = "NAME",
      description =
          "In a folder made before: a new certificate and key for the site (or simulation host)"
              + " NAME, whose old key was lost or stolen; the old certificate is revoked by its"
              + " SHA-256 in allowlist.txt, which a running server reads within a second.")
  Optional<String> reissue = Optional.empty();

  @Option(
      names = "--server-names",
      paramLabel = "NAME,...",
      split = ",",
      defaultValue = "localhost,127.0.0.1",
      description =
          "Host names and addresses sites dial the server by (default:" + " ${DEFAULT-VALUE}).")
  List<String> serverNames;

  @Option(
      names = "--host",
      paramLabel = "NAME=RANGE",
      description =
          "A simulation host's certificate and the site ids it may serve, e.g."
              + " sim-host-1=client-000..client-499; repeatable.")
  List<String> hosts = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    if (reissue.isPresent()) {
      if (!sites.isEmpty() || !hosts.isEmpty()) {
        throw new IllegalArgumentException("--reissue takes no --sites or --host");
      }
      String fingerprint = QuickStartPki.reissue(out, reissue.get());
      System.out.printf(
          "certs: a new certificate and key for %s in %s; the old one (sha256 %s) is revoked in"
              + " %s%n",
          reissue.get(), out.resolve("sites"), fingerprint, out.resolve("allowlist.txt"));
      return 0;
    }
    if (sites.isEmpty()) {
      throw new IllegalArgumentException("certs needs --sites ID,ID,... (or --reissue NAME)");
    }
    QuickStartPki.create(out, serverNames, sites);
    for (String host : hosts) {
      String[] parts = host.split("=", 2);
      if (parts.length != 2) {
        throw new IllegalArgumentException("--host takes NAME=RANGE, was " + host);
      }
      QuickStartPki.addHost(out, parts[0], parts[1]);
    }
    System.out.printf(
        "certs: CA, server (%s), %d site%s%s and the allow-list in %s; keep"
            + " ca.key offline and give each site only its own key%n",
        String.join(", ", serverNames),
        sites.size(),
        sites.size() == 1 ? "" : "s",
        hosts.isEmpty() ? "" : " and " + hosts.size() + " simulation host(s)",
        out);
    return 0;
  }
}
