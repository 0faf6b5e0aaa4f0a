package io.mnistfl.samples;

import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.train.Json;
import io.mnistfl.train.ModelDirectory;
import io.mnistfl.train.Provenance;
import io.mnistfl.train.TrainingRecord;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * What a {@code federate} run leaves for people and other commands, beside its checkpoints: the
 * global model ({@code model/}, for {@code evaluate} and {@code predict}), {@code history.csv} and
 * {@code history.json} after every round, and the plots at the end.
 */
final class FederationFiles {
  private final Path dir;

  FederationFiles(Path dir) {
    this.dir = dir;
  }

  /** The global model with its provenance, then the rounds as CSV and JSON. */
  void save(ModelSpec spec, Provenance provenance, FederationHistory history) throws IOException {
    List<RoundResult> rounds = history.rounds();
    RoundResult last = rounds.get(rounds.size() - 1);
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
