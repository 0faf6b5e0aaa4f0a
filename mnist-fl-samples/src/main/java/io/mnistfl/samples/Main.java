package io.mnistfl.samples;

import io.mnistfl.samples.serve.ServeCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;

/** {@code java -jar mnist-fl.jar <command>}: the sample programs. */
@Command(
    name = "mnist-fl",
    mixinStandardHelpOptions = true,
    version = "mnist-fl 0.2.0",
    description =
        "Train, evaluate, predict with and benchmark CNN digit classifiers on TensorFlow"
            + " Java.",
    subcommands = {
      TrainCommand.class,
      EvaluateCommand.class,
      PredictCommand.class,
      FederateCommand.class,
      ClientCommand.class,
      CertsCommand.class,
      ExportWeightsCommand.class,
      SuperNodeKeyCommand.class,
      BenchCommand.class,
      ServeCommand.class,
      CalibrateCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {

  /** Held, since the logging framework keeps loggers only weakly. */
  private static final java.util.logging.Logger LIBRARY_LOG =
      java.util.logging.Logger.getLogger("io.mnistfl");

  private static final java.util.logging.Logger GRPC_LOG =
      java.util.logging.Logger.getLogger("io.grpc");

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--tf-logging",
      scope = ScopeType.INHERIT,
      description = "Show TensorFlow's own log lines (hidden by default).")
  boolean tfLogging;

  /**
   * Runs a command; quiets TensorFlow's native logging first unless asked not to.
   *
   * @param args the command and its options
   * @throws Exception when the quiet child JVM cannot be started
   */
  public static void main(String[] args) throws Exception {
    // gRPC logs hostile input with stack traces; the server's own events say it in one line.
    GRPC_LOG.setLevel(java.util.logging.Level.SEVERE);
    // The commands print the library's events themselves, in their own words.
    LIBRARY_LOG.setLevel(java.util.logging.Level.SEVERE);
    QuietJvm.endWithParent();
    boolean quietAlready = System.getenv(QuietJvm.VARIABLE) != null;
    if (!quietAlready && !List.of(args).contains("--tf-logging")) {
      System.exit(QuietJvm.relaunch(Main.class, args));
    }
    System.exit(commandLine().execute(args));
  }

  /** The configured command line, also used by tests. */
  static CommandLine commandLine() {
    return new CommandLine(new Main())
        .setCaseInsensitiveEnumValuesAllowed(true)
        .setExecutionExceptionHandler(Main::reportBadInput);
  }

  /**
   * A bad value, file or model is the user's to fix: one line naming it, exit status 2 for a bad
   * argument and 1 for bad input data. Anything else is a bug and keeps its stack trace.
   */
  private static int reportBadInput(Exception e, CommandLine command, ParseResult parsed)
      throws Exception {
    int status;
    if (e instanceof IllegalArgumentException) {
      status = 2;
    } else if (e instanceof IllegalStateException
        && e.getMessage() != null
        && e.getMessage().startsWith("TensorFlow's native library did not load")) {
      status = 1;
    } else if (e instanceof IOException || e instanceof UncheckedIOException) {
      status = 1;
    } else {
      throw e;
    }
    command.getErr().println(command.getCommandName() + ": " + e.getMessage());
    return status;
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
