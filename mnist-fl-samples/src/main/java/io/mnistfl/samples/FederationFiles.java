package io.mnistfl.samples;

import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.tf.TfModel;
import io.mnistfl.train.Json;
import io.mnistfl.train.ModelDirectory;
import io.mnistfl.train.TrainingRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A {@code federate} run's folder: the global model ({@code model/}), {@code history.json} and
 * {@code history.csv}, saved after every round so that {@code --resume} can go on from them, and
 * the plots, drawn at the end.
 */
final class FederationFiles {
  private final Path dir;

  FederationFiles(Path dir) {
    this.dir = dir;
  }

  Path dir() {
    return dir;
  }

  /** What an earlier run saved: its model (spec, weights, record) and its rounds. */
  record Checkpoint(ModelDirectory model, FederationHistory history) {

    /** Fails unless the saved run had this model and this setup line. */
    void requireSameRun(Path dir, ModelSpec spec, String setup) {
      if (!model.spec().equals(spec)) {
        throw new IllegalArgumentException("cannot resume: " + dir + " holds a federation of "
            + model.spec().name() + ", not of " + spec.name() + " as now asked");
      }
      String saved = model.record().federation().orElse("central training");
      if (!saved.equals(setup)) {
        throw new IllegalArgumentException("cannot resume: " + dir + " was run as '" + saved
            + "', not '" + setup + "'; only --rounds and --target may change");
      }
    }

    /**
     * Fails unless the saved weights give the last saved round's test accuracy: weights and
     * history from different rounds mean the run was cut off between writing them.
     */
    void requireWeightsOfLastRound(Path dir, double accuracy) {
      RoundResult last = history.rounds().get(history.rounds().size() - 1);
      if (accuracy != last.test().accuracy()) {
        throw new IllegalArgumentException("cannot resume: the weights in " + dir.resolve("model")
            + " score " + accuracy + " on the test set, but round " + last.round()
            + " recorded " + last.test().accuracy() + "; run again without --resume");
      }
    }
  }

  /** Reads what {@link #save} left. */
  Checkpoint read() throws IOException {
    ModelDirectory saved = ModelDirectory.read(dir.resolve("model"));
    List<RoundResult> rounds = Json.readList(dir.resolve("history.json"), RoundResult.class);
    if (rounds.isEmpty() || rounds.size() != saved.record().epochs()) {
      throw new IOException("cannot resume: " + dir.resolve("history.json") + " holds "
          + rounds.size() + " rounds but " + dir.resolve("model") + " was saved after "
          + saved.record().epochs() + "; run again without --resume");
    }
    return new Checkpoint(saved, new FederationHistory(rounds, OptionalInt.empty(),
        saved.record().wallSeconds(), saved.weights()));
  }

  /** Saves the global model with its provenance, then the rounds as JSON and CSV. */
  void save(ModelSpec spec, String setup, String trainData, int trainExamples,
      FederationHistory history) throws IOException {
    List<RoundResult> rounds = history.rounds();
    new ModelDirectory(spec, history.finalWeights(), new TrainingRecord(spec, trainData,
        trainExamples, 0, rounds.size(), List.of(),
        Optional.of(rounds.get(rounds.size() - 1).test()), history.totalSeconds(),
        Instant.now().toString(), TfModel.BACKEND, Optional.of(setup)))
        .write(dir.resolve("model"));
    StringBuilder csv = new StringBuilder("round,sampled,succeeded,seconds,client_train_loss,"
        + "test_loss,test_accuracy,test_precision,test_recall,test_f1,federated_accuracy\n");
    for (RoundResult r : rounds) {
      csv.append(String.format("%d,%d,%d,%.3f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%s%n", r.round(),
          r.sampled(), r.succeeded(), r.seconds(), r.clientTrainLoss(), r.test().loss(),
          r.test().accuracy(), r.test().macro().precision(), r.test().macro().recall(),
          r.test().macro().f1(),
          r.federated().map(m -> String.format("%.6f", m.accuracy())).orElse("")));
    }
    Files.writeString(dir.resolve("history.csv"), csv);
    Json.write(dir.resolve("history.json"), rounds);
  }

  /** PNG plots of test accuracy, macro precision, recall, F1 and loss per round. */
  void plot(FederationHistory history) throws IOException {
    List<RoundResult> rounds = history.rounds();
    double[] x = HistoryFiles.column(rounds, RoundResult::round);
    plot("accuracy", "Test accuracy per round", x,
        HistoryFiles.column(rounds, r -> r.test().accuracy()));
    plot("precision", "Test precision (macro over 10 classes) per round", x,
        HistoryFiles.column(rounds, r -> r.test().macro().precision()));
    plot("recall", "Test recall (macro over 10 classes) per round", x,
        HistoryFiles.column(rounds, r -> r.test().macro().recall()));
    plot("f1", "Test F1 (macro over 10 classes) per round", x,
        HistoryFiles.column(rounds, r -> r.test().macro().f1()));
    plot("loss", "Test loss per round", x, HistoryFiles.column(rounds, r -> r.test().loss()));
  }

  private void plot(String name, String title, double[] x, double[] y) throws IOException {
    Charts.line(dir.resolve(name + ".png"), title, "round", name, x,
        Charts.series(List.of("global model"), List.of(y)));
  }
}
