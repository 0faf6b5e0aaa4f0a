package io.mnistfl.samples;

import io.mnistfl.fl.grpc.QuickStartPki;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
            + " read. For a quick start; an organisation with its own PKI makes the same files with"
            + " its own tools (see the README for openssl).")
final class CertsCommand implements Callable<Integer> {
  @Option(
      names = "--out",
      paramLabel = "DIR",
      required = true,
      description =
          "The folder to write (ca.pem, ca.key, server.pem, server.key, sites/,"
              + " allowlist.txt).")
  Path out;

  @Option(
      names = "--sites",
      paramLabel = "ID,ID,...",
      split = ",",
      required = true,
      description = "The sites, one certificate each.")
  List<String> sites;

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
