package io.mnistfl.samples;

import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.tf.TfModel;
import io.mnistfl.train.Json;
import io.mnistfl.train.ModelDirectory;
import io.mnistfl.train.TrainingRecord;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.zip.CRC32C;

/**
 * A {@code federate} run's folder: the global model ({@code model/}), {@code history.json},
 * {@code history.csv} and, for a server optimizer, {@code aggregator-state.bin}, saved after every
 * round so that {@code --resume} can go on from them, and the plots, drawn at the end.
 */
final class FederationFiles {
  private static final String STATE = "aggregator-state.bin";
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
        saved.record().wallSeconds(), saved.weights(), readState(rounds.size())));
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
    saveState(rounds.size(), history.aggregatorState());
  }

  /**
   * The aggregator's state as {@code rounds i32, arrays i32, per array: length i32 and f64
   * values, crc32c}, little-endian, written atomically; none when it keeps none.
   */
  private void saveState(int rounds, List<double[]> state) throws IOException {
    Path file = dir.resolve(STATE);
    if (state.isEmpty()) {
      Files.deleteIfExists(file);
      return;
    }
    int size = 4 + 4 + 4;
    for (double[] a : state) {
      size += 4 + 8 * a.length;
    }
    ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(rounds).putInt(state.size());
    for (double[] a : state) {
      b.putInt(a.length);
      b.asDoubleBuffer().put(a);
      b.position(b.position() + 8 * a.length);
    }
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, b.position());
    b.putInt((int) crc.getValue());
    Json.writeAtomically(file, b.array());
  }

  private List<double[]> readState(int rounds) throws IOException {
    Path file = dir.resolve(STATE);
    if (!Files.exists(file)) {
      return List.of();
    }
    byte[] bytes = Files.readAllBytes(file);
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, Math.max(0, bytes.length - 4));
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes.length < 12 || b.getInt(bytes.length - 4) != (int) crc.getValue()) {
      throw new IOException("cannot resume: " + file + " is corrupt (checksum mismatch)");
    }
    b.limit(bytes.length - 4);
    int savedAfter = b.getInt();
    if (savedAfter != rounds) {
      throw new IOException("cannot resume: " + file + " was saved after round " + savedAfter
          + ", the model after round " + rounds + "; run again without --resume");
    }
    List<double[]> state = new ArrayList<>();
    try {
      for (int i = b.getInt(); i > 0; i--) {
        double[] a = new double[b.getInt()];
        b.asDoubleBuffer().get(a);
        b.position(b.position() + 8 * a.length);
        state.add(a);
      }
    } catch (BufferUnderflowException | IllegalArgumentException | NegativeArraySizeException e) {
      throw new IOException("cannot resume: " + file + " is malformed (" + e + ")");
    }
    return state;
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
