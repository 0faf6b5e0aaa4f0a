package io.mnistfl.samples;

import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/** {@code client --flower-superlink}: a site joining a Flower federation as a SuperNode. */
final class FlowerOptions {
  @Option(
      names = "--flower-superlink",
      paramLabel = "HOST:PORT",
      description =
          "Join a Flower federation instead: dial this Flower SuperLink's Fleet API (Flower"
              + " 1.25-1.29) as a SuperNode, with --insecure or --root-certificates.")
  Optional<String> superlink;

  @Option(
      names = "--root-certificates",
      paramLabel = "CA.pem",
      description = "With --flower-superlink: TLS, trusting the SuperLink's certificate's CA.")
  Optional<Path> rootCertificates;

  @Option(
      names = "--auth-key",
      paramLabel = "KEY.pem",
      description =
          "With --flower-superlink: this SuperNode's key (made by supernode-key, registered on the"
              + " SuperLink), for a SuperLink with SuperNode authentication. Without it the node"
              + " makes a key and registers itself, which only a SuperLink without authentication"
              + " allows.")
  Optional<Path> authKey;

  @Option(
      names = "--model",
      paramLabel = "MODEL",
      description =
          "With --flower-superlink: the model the federation trains: baseline, regularized,"
              + " mcmahan-cnn or a saved model folder (default: baseline). The ServerApp's arrays"
              + " must be its arrays, in its order (see export-weights).")
  Optional<String> model;

  @Option(
      names = "--heartbeat-interval",
      paramLabel = "SECONDS",
      defaultValue = "30",
      description =
          "With --flower-superlink: the heartbeat interval the node announces, 10 to 1800; the"
              + " SuperLink counts it gone after twice this (default: ${DEFAULT-VALUE}).")
  double heartbeatInterval;
}
