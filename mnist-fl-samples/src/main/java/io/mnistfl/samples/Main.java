package io.mnistfl.samples;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar mnist-fl.jar <command>}: the sample programs. */
@Command(
    name = "mnist-fl",
    mixinStandardHelpOptions = true,
    version = "mnist-fl 0.1.0",
    description = "Train, evaluate, predict with and benchmark CNN digit classifiers on TensorFlow"
        + " Java.",
    subcommands = {
      TrainCommand.class,
      EvaluateCommand.class,
      PredictCommand.class,
      FederateCommand.class,
      BenchCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line, also used by tests. */
  static CommandLine commandLine() {
    return new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true);
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
