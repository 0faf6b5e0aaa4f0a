package io.mnistfl.samples;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs the program again in a JVM whose environment quiets TensorFlow's C++ logging. TensorFlow
 * reads {@code TF_CPP_MIN_LOG_LEVEL} from the process environment once, when its native library
 * loads, and a JVM cannot change its own environment; a child JVM with the variable set costs about
 * a second's start and prints nothing of TensorFlow's start-up chatter.
 */
final class QuietJvm {
  static final String VARIABLE = "TF_CPP_MIN_LOG_LEVEL";

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
