package io.mnistfl.samples;

import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.samples.serve.LiveStatus;
import io.mnistfl.train.Json;
import io.mnistfl.train.ModelDirectory;
import io.mnistfl.train.Provenance;
import io.mnistfl.train.TrainingRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.function.Supplier;

/**
 * What a {@code federate} run leaves for people and other commands, beside its checkpoints: the
 * global model ({@code model/}, for {@code evaluate} and {@code predict}), {@code history.csv} and
 * {@code history.json} after every round, and the plots at the end; for {@code serve}'s page,
 * {@code live.json} ({@link LiveStatus}): the run's state, each round's bytes and privacy spent,
 * and the connected sites.
 */
final class FederationFiles {
  private final Path dir;
  private final List<LiveStatus.RoundTraffic> traffic = new ArrayList<>();
  private String mode = "simulation";
  private int roundsPlanned;
  private Supplier<long[]> bytes = () -> new long[2];
  private long[] counted = new long[2];
  private IntFunction<Optional<Double>> epsilon = rounds -> Optional.empty();
  private Supplier<List<LiveStatus.Site>> sites = List::of;

  FederationFiles(Path dir) {
    this.dir = dir;
  }

  /**
   * Starts {@code live.json} for a run of {@code roundsPlanned} rounds, keeping what an earlier
   * process wrote of the first {@code roundsDone} when resuming; {@code bytes} counts the payload
   * sent and received so far, {@code epsilon} gives the privacy spent after n rounds.
   */
  synchronized void begin(
      String mode,
      int roundsPlanned,
      int roundsDone,
      Supplier<long[]> bytes,
      IntFunction<Optional<Double>> epsilon,
      Supplier<List<LiveStatus.Site>> sites)
      throws IOException {
    this.mode = mode;
    this.roundsPlanned = roundsPlanned;
    this.bytes = bytes;
    this.counted = bytes.get().clone();
    this.epsilon = epsilon;
    this.sites = sites;
    traffic.clear();
    Path file = dir.resolve(LiveStatus.FILE);
    if (roundsDone > 0 && Files.isRegularFile(file)) {
      try {
        Json.read(file, LiveStatus.class).rounds().stream()
            .filter(r -> r.round() <= roundsDone)
            .forEach(traffic::add);
      } catch (IOException e) {
        // A damaged status file only loses the page earlier rounds' bytes.
        System.err.println("warning: " + e.getMessage() + "; earlier rounds' traffic not shown");
      }
    }
    Files.createDirectories(dir);
    writeLive("running");
  }

  /** Rewrites {@code live.json} every second (new heartbeats) until closed. */
  AutoCloseable everySecond() {
    ScheduledExecutorService timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "live-status");
              t.setDaemon(true);
              return t;
            });
    timer.scheduleWithFixedDelay(
        () -> {
          try {
            writeLive("running");
          } catch (IOException | RuntimeException e) {
            System.err.println("warning: cannot update " + LiveStatus.FILE + ": " + e.getMessage());
          }
        },
        1,
        1,
        TimeUnit.SECONDS);
    return timer::shutdownNow;
  }

  /** The run ended: {@code finished}, or {@code failed}. */
  synchronized void finish(boolean finished) {
    try {
      writeLive(finished ? "finished" : "failed");
    } catch (IOException e) {
      System.err.println("warning: cannot update " + LiveStatus.FILE + ": " + e.getMessage());
    }
  }

  private synchronized void writeLive(String state) throws IOException {
    Json.write(
        dir.resolve(LiveStatus.FILE),
        new LiveStatus(
            state, mode, roundsPlanned, System.currentTimeMillis(), traffic, sites.get()));
  }

  /** The global model with its provenance, then the rounds as CSV and JSON, then live.json. */
  synchronized void save(ModelSpec spec, Provenance provenance, FederationHistory history)
      throws IOException {
    List<RoundResult> rounds = history.rounds();
    RoundResult last = rounds.get(rounds.size() - 1);
    long[] now = bytes.get().clone();
    traffic.removeIf(t -> t.round() >= last.round());
    traffic.add(
        new LiveStatus.RoundTraffic(
            last.round(), now[0] - counted[0], now[1] - counted[1], epsilon.apply(last.round())));
    counted = now;
    new ModelDirectory(
            spec,
            history.finalWeights(),
            new TrainingRecord(provenance, List.of(), last.test(), history.totalSeconds()))
        .write(dir.resolve("model"));
    StringBuilder csv =
        new StringBuilder(
            "round,sampled,succeeded,seconds,client_train_loss,"
                + "test_loss,test_accuracy,test_precision,test_recall,test_f1,federated_accuracy\n");
    for (RoundResult r : rounds) {
      csv.append(
          String.format(
              "%d,%d,%d,%.3f,%.6f,%s,%s%n",
              r.round(),
              r.sampled(),
              r.succeeded(),
              r.seconds(),
              r.clientTrainLoss(),
              r.test()
                  .map(
                      t ->
                          String.format(
                              "%.6f,%.6f,%.6f,%.6f,%.6f",
                              t.loss(),
                              t.accuracy(),
                              t.macro().precision(),
                              t.macro().recall(),
                              t.macro().f1()))
                  .orElse(",,,,"),
              r.federated().map(m -> String.format("%.6f", m.accuracy())).orElse("")));
    }
    Json.writeAtomically(
        dir.resolve("history.csv"),
        csv.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    Json.write(dir.resolve("history.json"), rounds);
    writeLive("running");
  }

  /** PNG plots of test accuracy, macro precision, recall, F1 and loss per round. */
  void plot(FederationHistory history) throws IOException {
    List<RoundResult> rounds = history.rounds().stream().filter(r -> r.test().isPresent()).toList();
    if (rounds.isEmpty()) {
      return;
    }
    double[] x = HistoryFiles.column(rounds, RoundResult::round);
    plot(
        "accuracy",
        "Test accuracy per round",
        x,
        HistoryFiles.column(rounds, r -> r.test().orElseThrow().accuracy()));
    plot(
        "precision",
        "Test precision (macro over 10 classes) per round",
        x,
        HistoryFiles.column(rounds, r -> r.test().orElseThrow().macro().precision()));
    plot(
        "recall",
        "Test recall (macro over 10 classes) per round",
        x,
        HistoryFiles.column(rounds, r -> r.test().orElseThrow().macro().recall()));
    plot(
        "f1",
        "Test F1 (macro over 10 classes) per round",
        x,
        HistoryFiles.column(rounds, r -> r.test().orElseThrow().macro().f1()));
    plot(
        "loss",
        "Test loss per round",
        x,
        HistoryFiles.column(rounds, r -> r.test().orElseThrow().loss()));
  }

  private void plot(String name, String title, double[] x, double[] y) throws IOException {
    Charts.line(
        dir.resolve(name + ".png"),
        title,
        "round",
        name,
        x,
        Charts.series(List.of("global model"), List.of(y)));
  }
}
