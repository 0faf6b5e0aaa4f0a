package io.mnistfl.samples;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Runs the program again in a JVM whose environment quiets TensorFlow's C++ logging. TensorFlow
 * reads {@code TF_CPP_MIN_LOG_LEVEL} from the process environment once, when its native library
 * loads, and a JVM cannot change its own environment; a child JVM with the variable set costs about
 * a second's start and prints nothing of TensorFlow's start-up chatter. The child ends when its
 * parent does, however the parent ends ({@code kill -9} included), so that the process a user
 * started and stops is the one holding the port.
 */
final class QuietJvm {
  static final String VARIABLE = "TF_CPP_MIN_LOG_LEVEL";

  /** The parent's process id, told to the child so that it ends with its parent. */
  static final String PARENT = "MNIST_FL_PARENT_PID";

  private QuietJvm() {}

  /** Runs {@code main} with {@code args} in a quiet child JVM; returns its exit status. */
  static int relaunch(Class<?> main, String[] args) throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(main.getName());
    command.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(command).inheritIO().redirectError(ProcessBuilder.Redirect.PIPE);
    builder.environment().put(VARIABLE, "2");
    builder.environment().put(PARENT, String.valueOf(ProcessHandle.current().pid()));
    Process child = builder.start();
    Thread stopChild = new Thread(child::destroy, "stop-quiet-jvm");
    Runtime.getRuntime().addShutdownHook(stopChild);
    Thread errors = new Thread(() -> filter(child.getErrorStream()), "quiet-jvm-stderr");
    errors.start();
    int status = child.waitFor();
    errors.join();
    Runtime.getRuntime().removeShutdownHook(stopChild);
    return status;
  }

  /**
   * In a child started by {@link #relaunch}: ends this JVM at once when the parent ends. A parent
   * killed with SIGKILL runs no shutdown hook, so the child watches it.
   */
  static void endWithParent() {
    String pid = System.getenv(PARENT);
    if (pid == null) {
      return;
    }
    Optional<ProcessHandle> parent;
    try {
      parent = ProcessHandle.of(Long.parseLong(pid));
    } catch (NumberFormatException e) {
      return;
    }
    if (parent.isEmpty() || !parent.get().isAlive()) {
      Runtime.getRuntime().halt(143);
    }
    parent
        .get()
        .onExit()
        .thenRun(
            () -> {
              System.err.println("mnist-fl: the parent process ended; stopping");
              // Shutdown hooks close the server and sites; halt if they take too long.
              Thread stop = new Thread(() -> System.exit(143), "end-with-parent");
              stop.setDaemon(true);
              stop.start();
              try {
                stop.join(10_000);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              Runtime.getRuntime().halt(143);
            });
  }

  /**
   * Copies the child's stderr but for TensorFlow's native log lines, some of which (absl's) ignore
   * the environment variable.
   */
  private static void filter(java.io.InputStream err) {
    try (java.io.BufferedReader lines =
        new java.io.BufferedReader(
            new java.io.InputStreamReader(err, java.nio.charset.StandardCharsets.UTF_8))) {
      for (String line; (line = lines.readLine()) != null; ) {
        if (!TF_LOG_LINE.matcher(line).find()) {
          System.err.println(line);
        }
      }
    } catch (java.io.IOException e) {
      // the child ended
    }
  }

  /** TensorFlow's and absl's log lines: {@code I0000 00:00:17.25 123 file.cc:401] ...}. */
  static final java.util.regex.Pattern TF_LOG_LINE =
      java.util.regex.Pattern.compile(
          "^(?:[IWE]\\d{4} \\d+:\\d+:\\d+\\.\\d+ +\\d+ [\\w./-]+:\\d+\\] "
              + "|\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d+: [IWE] tensorflow/"
              + "|WARNING: All log messages before absl::InitializeLog\\(\\) is called)");
}
