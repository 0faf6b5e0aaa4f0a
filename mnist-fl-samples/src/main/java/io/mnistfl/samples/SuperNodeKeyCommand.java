package io.mnistfl.samples;

import io.mnistfl.flower.SuperNodeKey;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** A SuperNode key pair for a Flower SuperLink with SuperNode authentication. */
@Command(
    name = "supernode-key",
    mixinStandardHelpOptions = true,
    description =
        "Make a P-384 key pair for a Flower SuperNode: FILE (the private key, PKCS#8, and the"
            + " public key, both PEM; owner-readable only) for client --auth-key, FILE.pub (the"
            + " public key in OpenSSH form) for the SuperLink's operator to register with"
            + " `flwr supernode register FILE.pub`. Prints the OpenSSH line.")
final class SuperNodeKeyCommand implements Callable<Integer> {
  @Option(
      names = "--out",
      paramLabel = "FILE",
      required = true,
      description = "The private key file to create (it must not exist).")
  Path out;

  @Override
  public Integer call() throws Exception {
    Path pub = Path.of(out + ".pub");
    if (Files.exists(out) || Files.exists(pub)) {
      throw new IllegalArgumentException(
          "--out "
              + out
              + ": "
              + (Files.exists(out) ? out : pub)
              + " exists; keys are not overwritten");
    }
    SuperNodeKey key = SuperNodeKey.generate();
    key.write(out);
    Files.writeString(pub, key.openSshPublicKey() + "\n", StandardCharsets.US_ASCII);
    System.out.println(key.openSshPublicKey());
    System.err.printf(
        "wrote %s (keep it private) and %s; register it on the SuperLink with: flwr supernode"
            + " register %s%n",
        out, pub, pub);
    return 0;
  }
}
