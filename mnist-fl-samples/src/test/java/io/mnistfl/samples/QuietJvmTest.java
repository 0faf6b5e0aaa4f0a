package io.mnistfl.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI runs its work in a quiet child JVM; {@code kill -9} of the process a user started (the
 * parent) must not leave that child running and holding the port.
 */
class QuietJvmTest {
  @TempDir Path work;
  private final List<ProcessHandle> started = new ArrayList<>();

  @AfterEach
  void killAll() {
    started.forEach(p -> p.descendants().forEach(ProcessHandle::destroyForcibly));
    started.forEach(ProcessHandle::destroyForcibly);
  }

  /** {@code java Main args} as a user starts it: without the quiet variable, so it relaunches. */
  private Process start(String name, String... args) throws IOException {
    ProcessBuilder b = CliJvm.builder("512m", work.resolve(name + ".log"), args);
    b.environment().remove(QuietJvm.VARIABLE);
    b.environment().remove(QuietJvm.PARENT);
    Process p = b.start();
    started.add(p.toHandle());
    return p;
  }

  /** The quiet child of {@code parent}, once it has started. */
  private static ProcessHandle child(Process parent) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < end) {
      Optional<ProcessHandle> child = parent.toHandle().children().findFirst();
      if (child.isPresent()) {
        return child.get();
      }
      Thread.sleep(50);
    }
    throw new AssertionError("the CLI started no child JVM");
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private static boolean bindable(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void killingTheServersParentStopsTheServerAndFreesItsPort() throws Exception {
    int port = freePort();
    Process parent =
        start(
            "server",
            "federate",
            "--listen",
            "127.0.0.1:" + port,
            "--insecure",
            "--no-test-set",
            "--model",
            "baseline",
            "--min-sites",
            "1",
            "--site-wait",
            "600",
            "--rounds",
            "1",
            "--out",
            work.resolve("run").toString());
    ProcessHandle child = child(parent);
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    while (bindable(port) && System.nanoTime() < end) {
      Thread.sleep(100);
    }
    assertThat(bindable(port)).as("the server listens on %d", port).isFalse();
    parent.destroyForcibly(); // SIGKILL: no shutdown hook runs in the parent
    assertThat(parent.waitFor(30, TimeUnit.SECONDS)).isTrue();
    child.onExit().get(60, TimeUnit.SECONDS);
    assertThat(child.isAlive()).isFalse();
    assertThat(bindable(port)).as("port %d is free again", port).isTrue();
  }

  @Test
  void killingASitesParentStopsTheSite() throws Exception {
    Process parent =
        start(
            "site",
            "client",
            "--server",
            "127.0.0.1:" + freePort(),
            "--insecure",
            "--clients",
            "2",
            "--index",
            "0");
    ProcessHandle child = child(parent);
    parent.destroyForcibly();
    child.onExit().get(60, TimeUnit.SECONDS);
    assertThat(child.isAlive()).isFalse();
  }
}
