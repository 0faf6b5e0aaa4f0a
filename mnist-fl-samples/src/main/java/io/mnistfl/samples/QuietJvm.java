package io.mnistfl.samples;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs the program again in a JVM whose environment quiets TensorFlow's C++ logging. TensorFlow
 * reads {@code TF_CPP_MIN_LOG_LEVEL} from the process environment once, when its native library
 * loads, and a JVM cannot change its own environment; a child JVM with the variable set costs
 * about a second's start and prints nothing of TensorFlow's start-up chatter.
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
    ProcessBuilder builder = new ProcessBuilder(command).inheritIO();
    builder.environment().put(VARIABLE, "2");
    Process child = builder.start();
    Thread stopChild = new Thread(child::destroy, "stop-quiet-jvm");
    Runtime.getRuntime().addShutdownHook(stopChild);
    int status = child.waitFor();
    Runtime.getRuntime().removeShutdownHook(stopChild);
    return status;
  }
}
