package io.mnistfl.samples;

import io.mnistfl.train.EpochResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.ToDoubleFunction;

/** Writes a training history as CSV and PNG plots of loss and accuracy per epoch. */
final class HistoryFiles {
  private HistoryFiles() {}

  static void writeEpochs(Path dir, List<EpochResult> history) throws IOException {
    StringBuilder csv =
        new StringBuilder("epoch,seconds,loss,accuracy,val_loss,val_accuracy,learning_rate\n");
    for (EpochResult e : history) {
      csv.append(
          String.format(
              "%d,%.3f,%.6f,%.6f,%.6f,%.6f,%.6g%n",
              e.epoch(),
              e.seconds(),
              e.loss(),
              e.accuracy(),
              e.validationLoss(),
              e.validationAccuracy(),
              e.learningRate()));
    }
    Files.writeString(dir.resolve("history.csv"), csv);
    double[] x = column(history, EpochResult::epoch);
    Charts.line(
        dir.resolve("loss.png"),
        "Loss per epoch",
        "epoch",
        "cross-entropy",
        x,
        Charts.series(
            List.of("training", "validation"),
            List.of(
                column(history, EpochResult::loss), column(history, EpochResult::validationLoss))));
    Charts.line(
        dir.resolve("accuracy.png"),
        "Accuracy per epoch",
        "epoch",
        "accuracy",
        x,
        Charts.series(
            List.of("training", "validation"),
            List.of(
                column(history, EpochResult::accuracy),
                column(history, EpochResult::validationAccuracy))));
  }

  static <T> double[] column(List<T> rows, ToDoubleFunction<T> f) {
    return rows.stream().mapToDouble(f).toArray();
  }
}
