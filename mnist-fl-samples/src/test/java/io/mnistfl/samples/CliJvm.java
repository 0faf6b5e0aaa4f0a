package io.mnistfl.samples;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The CLI in a JVM of its own, as a user starts it: this test's class path, output to a file. */
final class CliJvm {
  private CliJvm() {}

  /**
   * {@code java -Xmx<heap> -cp <class path> Main args}, its output and errors to {@code log}.
   *
   * @param heap the most heap, e.g. {@code 1g}
   */
  static ProcessBuilder builder(String heap, Path log, String... args) {
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + heap,
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName()));
    command.addAll(List.of(args));
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
  }
}
