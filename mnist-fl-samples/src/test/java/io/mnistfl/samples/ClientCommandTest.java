package io.mnistfl.samples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.fl.grpc.GrpcSiteHost;
import io.mnistfl.fl.grpc.QuickStartPki;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The site command's wiring that needs no server: which certificate each site signs with. */
class ClientCommandTest {
  @TempDir Path work;

  @Test
  void aSimulatedSiteSignsWithItsOwnCertificateWhereThePkiHasOne() throws Exception {
    Path dir = work.resolve("pki");
    QuickStartPki.create(dir, List.of("localhost"), List.of("client-000"));
    QuickStartPki.addHost(dir, "sim-1", "client-000..client-002");
    ClientCommand command = new ClientCommand();
    new CommandLine(command)
        .parseArgs(
            "--server",
            "localhost:1",
            "--pki",
            dir.toString(),
            "--id",
            "sim-1",
            "--simulate-sites",
            "3",
            "--clients",
            "3",
            "--index-range",
            "0-2");
    // Nothing listens on port 1: the host keeps trying until it is closed.
    try (GrpcSiteHost host = command.start()) {
      assertThat(command.identityFiles("client-000"))
          .hasValueSatisfying(
              files ->
                  assertThat(files.certificateChain())
                      .isEqualTo(dir.resolve("sites/client-000.pem")));
      assertThat(command.identityFiles("client-001")).isEmpty();
    }
  }

  @Test
  void anInsecureSiteDialsLoopbackOnly() {
    ClientCommand command = new ClientCommand();
    new CommandLine(command)
        .parseArgs("--server", "10.1.2.3:8470", "--insecure", "--clients", "2", "--index", "0");
    assertThatThrownBy(command::start)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "an insecure site dials loopback only (localhost, 127.0.0.1, ::1), not 10.1.2.3");
  }
}
