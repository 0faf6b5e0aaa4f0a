package io.mnistfl.flower;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The module on the module path, as a modular application runs it: its module descriptor resolves
 * (gRPC's blocking calls need a Guava module nothing else requires) and generated protobuf code
 * works inside a named module. A JVM of its own activates a node against a stand-in SuperLink.
 */
class ModulePathTest {
  @Test
  void aNodeActivatesFromTheModulePath() throws Exception {
    List<String> modules = new ArrayList<>();
    List<String> probe = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      String name = Path.of(entry).getFileName().toString();
      if (name.equals("test-classes") || name.endsWith("-tests.jar")) {
        // Only this module's own test classes hold the probe; the api's test fixtures share its
        // packages and are no application's module.
        if (Path.of(entry).endsWith(Path.of("mnist-fl-grpc", "target", "test-classes"))) {
          probe.add(entry);
        }
      } else if (!name.matches("(junit|opentest4j|apiguardian|assertj|byte-buddy).*")) {
        modules.add(entry);
      }
    }
    try (StandInSuperLink link = new StandInSuperLink(0)) {
      Process p =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-p",
                  String.join(File.pathSeparator, modules),
                  "--add-modules",
                  "io.mnistfl.grpc",
                  "-cp",
                  String.join(File.pathSeparator, probe),
                  "io.mnistfl.flowerprobe.ModulePathProbe",
                  String.valueOf(link.port()))
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as(out).isZero();
      assertThat(out)
          .contains(
              "module io.mnistfl.grpc activated {probe="
                  + Long.toUnsignedString(StandInSuperLink.NODE_ID)
                  + "}");
      assertThat(link.authFailures).isEmpty();
    }
  }
}
