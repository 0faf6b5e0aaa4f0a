package io.mnistfl.samples.serve;

import io.mnistfl.predict.Calibration;
import io.mnistfl.predict.VerdictRule;
import io.mnistfl.tf.TfModel;
import io.mnistfl.tf.TfOptions;
import java.net.InetAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code serve}: the local web page to draw digits and watch federations. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description =
        "A local web page: draw a digit (or upload a photo of one) and see the model's calibrated"
            + " prediction and the 28x28 picture it saw, save drawings labelled for evaluate"
            + " --images; browse runs (--runs) and follow a running federation live (--follow)."
            + " Loopback only unless --host; then saving needs the token printed at start.")
public final class ServeCommand implements Callable<Integer> {
  @Option(
      names = "--model",
      paramLabel = "DIR",
      description = "A saved model (train's or federate's model/) for the drawing page.")
  Optional<Path> model;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      defaultValue = "8080",
      description = "Port (default: ${DEFAULT-VALUE}; 0 picks a free one).")
  int port;

  @Option(
      names = "--host",
      paramLabel = "ADDRESS",
      description =
          "Listen on this address instead of 127.0.0.1, which exposes the page to the network:"
              + " saving drawings then needs the token printed at start.")
  Optional<String> host;

  @Option(
      names = "--runs",
      paramLabel = "DIR",
      description = "A folder of run folders (train's and federate's --out) to browse.")
  Optional<Path> runs;

  @Option(
      names = "--follow",
      paramLabel = "RUN_DIR",
      description =
          "A federation's --out folder to follow live, one line per round as it finishes (it may"
              + " not exist yet).")
  Optional<Path> follow;

  @Option(
      names = "--drawings",
      paramLabel = "DIR",
      defaultValue = "drawings",
      description =
          "Where saved drawings go, as DIR/0/ ... DIR/9/ for evaluate --images (default:"
              + " ${DEFAULT-VALUE}).")
  Path drawings;

  @Option(
      names = "--min-probability",
      paramLabel = "P",
      description = "Say \"unsure\" below this calibrated top probability (default: " + "0.80).")
  Optional<Double> minProbability;

  @Option(
      names = "--max-megapixels",
      paramLabel = "N",
      defaultValue = "25",
      description = "Refuse uploaded pictures larger than this (default: ${DEFAULT-VALUE}).")
  double maxMegapixels;

  @Option(
      names = "--threads",
      paramLabel = "N",
      description = "TensorFlow threads (default: all cores).")
  Optional<Integer> threads;

  /** Makes the command; picocli sets its options. */
  public ServeCommand() {}

  /**
   * Serves until the process is stopped.
   *
   * @return the exit status
   * @throws Exception when the model cannot be loaded or the port cannot be opened
   */
  @Override
  public Integer call() throws Exception {
    if (model.isEmpty() && runs.isEmpty() && follow.isEmpty()) {
      throw new IllegalArgumentException(
          "serve needs something to show: --model DIR, --runs DIR or --follow RUN_DIR");
    }
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("--port must be in 0..65535, was " + port);
    }
    if (!(maxMegapixels > 0)) {
      throw new IllegalArgumentException("--max-megapixels must be > 0, was " + maxMegapixels);
    }
    VerdictRule rule =
        new VerdictRule(
            minProbability.orElse(VerdictRule.DEFAULT.minProbability()),
            VerdictRule.DEFAULT.maxInk());
    // Jetty logs through SLF4J; its start-up lines are not the user's business.
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    String address = host.orElse("127.0.0.1");
    boolean exposed = !InetAddress.getByName(address).isLoopbackAddress();
    PageServer.Builder b =
        PageServer.builder()
            .host(address)
            .port(port)
            .drawings(drawings)
            .maxPixels(Math.round(maxMegapixels * 1e6));
    runs.ifPresent(b::runs);
    follow.ifPresent(b::follow);
    Optional<String> token = Optional.empty();
    if (exposed) {
      byte[] random = new byte[18];
      new SecureRandom().nextBytes(random);
      token = Optional.of(Base64.getUrlEncoder().withoutPadding().encodeToString(random));
      b.token(token.get());
    }
    String modelLine = "no model (drawing is off; --model DIR)";
    if (model.isPresent()) {
      TfOptions options = threads.map(TfOptions::threads).orElse(TfOptions.defaults());
      TfModel loaded = TfModel.load(model.get(), options);
      Optional<Calibration> calibration = Calibration.read(model.get());
      b.predictor(
          new Predictor(loaded, model.get(), calibration, rule, Math.round(maxMegapixels * 1e6)));
      modelLine =
          "model "
              + model.get()
              + calibration
                  .map(
                      c ->
                          String.format(", calibrated (T = %.3f, %s)", c.temperature(), c.source()))
                  .orElse(", uncalibrated (run `calibrate --model DIR`)")
              + String.format(", unsure below %.2f", rule.minProbability());
    }
    CountDownLatch stopped = new CountDownLatch(1);
    try (PageServer server = b.start()) {
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    server.close();
                    stopped.countDown();
                  }));
      if (exposed) {
        System.err.printf(
            "WARNING: --host %s exposes the page to the network: anyone who reaches it can use"
                + " the model and read the runs. Saving drawings needs this token: %s%n",
            address, token.get());
      }
      System.out.printf("serve: %s%s%n", server.url(), token.map(t -> "#token=" + t).orElse(""));
      System.out.println("serve: " + modelLine);
      runs.ifPresent(r -> System.out.println("serve: runs in " + r));
      follow.ifPresent(f -> System.out.println("serve: following " + f));
      System.out.println(
          "serve: drawings saved into "
              + drawings.toAbsolutePath().normalize()
              + " (evaluate --images "
              + drawings
              + ")");
      System.out.flush();
      stopped.await();
    }
    return 0;
  }
}
