package io.mnistfl.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The Flower test kit ({@code ../shared/peers/flower} from the project root): a real Flower 1.29.0
 * SuperLink, stock Python SuperNodes and the FedAvg app, driven through the kit's scripts. Where
 * the kit is absent (a CI machine without ../shared), the tests that need it are skipped with a
 * message saying so; where it is present they run, and any failure of the kit fails them.
 */
final class FlowerKit {
  /** The kit, relative to this module's folder (the project root's sibling ../shared). */
  static final Path DIR =
      Path.of("..", "..", "shared", "peers", "flower").toAbsolutePath().normalize();

  /** The kit's Flower environment, built once under this module's target/. */
  static final Path VENV = Path.of("target", "flower-venv").toAbsolutePath();

  private FlowerKit() {}

  /** Skips (only) when the kit is absent; otherwise builds or checks its venv, which must work. */
  static void require() throws IOException, InterruptedException {
    Assumptions.assumeTrue(
        Files.isRegularFile(DIR.resolve("setup.sh")),
        "the Flower test kit is not at "
            + DIR
            + ": the tests against a real Flower SuperLink are skipped (they run wherever"
            + " ../shared/peers/flower exists)");
    Result r = run(Path.of("target"), 600, "setup.sh", VENV.toString());
    assertThat(r.exit()).as("the kit's setup.sh:\n%s", r.output()).isZero();
  }

  /** What a script printed and its exit status. */
  record Result(int exit, String output) {}

  /** Runs one of the kit's scripts (or a tool, with the venv's python) and waits for it. */
  static Result run(Path cwd, int seconds, String script, String... args)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    if (script.endsWith(".py")) {
      command.add(VENV.resolve("bin/python").toString());
      command.add(DIR.resolve("tools").resolve(script).toString());
    } else {
      command.add("bash");
      command.add(DIR.resolve(script).toString());
    }
    command.addAll(List.of(args));
    Files.createDirectories(cwd);
    Path log = Files.createTempFile(cwd.toAbsolutePath(), "kit-", ".log");
    Process p =
        new ProcessBuilder(command)
            .directory(cwd.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
      p.destroy();
      p.waitFor(20, TimeUnit.SECONDS);
      p.destroyForcibly();
      return new Result(124, Files.readString(log, StandardCharsets.UTF_8) + "\n(timed out)");
    }
    return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
  }

  /** Runs a script that must succeed; returns its output. */
  static String ok(Path cwd, int seconds, String script, String... args)
      throws IOException, InterruptedException {
    Result r = run(cwd, seconds, script, args);
    assertThat(r.exit()).as("%s %s:\n%s", script, List.of(args), tail(r.output())).isZero();
    return r.output();
  }

  /** Starts a script in the background (e.g. a run that the test disturbs meanwhile). */
  static Process start(Path cwd, Path log, String script, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of("bash", DIR.resolve(script).toString()));
    command.addAll(List.of(args));
    return new ProcessBuilder(command)
        .directory(cwd.toFile())
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
  }

  static String tail(String s) {
    return s.length() > 6000 ? "…" + s.substring(s.length() - 6000) : s;
  }
}
