package io.mnistfl.samples.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** One small baseline model for the page's tests, trained once per test JVM (about 15 s). */
final class TestModel {
  private static Path dir;

  private TestModel() {}

  /** The saved model's folder (with its calibration.json). */
  static synchronized Path get() {
    if (dir == null) {
      try {
        Path out = Files.createTempDirectory("mnistfl-serve-model");
        String err =
            cli(
                "train",
                "--epochs",
                "2",
                "--limit",
                "30000",
                "--validation-size",
                "3000",
                "--out",
                out.toString());
        dir = out.resolve("model");
        assertThat(dir.resolve("calibration.json")).as(err).isRegularFile();
      } catch (java.io.IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return dir;
  }

  /** Runs a command line of the CLI in this JVM; returns its stderr; fails on a non-zero exit. */
  static String cli(String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit;
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      exit = io.mnistfl.samples.MainAccess.commandLine().execute(args);
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
    assertThat(exit).as(out.toString(StandardCharsets.UTF_8) + err).isZero();
    return err.toString(StandardCharsets.UTF_8);
  }
}
