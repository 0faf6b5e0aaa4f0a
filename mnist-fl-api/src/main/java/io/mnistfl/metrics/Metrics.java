package io.mnistfl.metrics;

import java.util.ArrayList;
import java.util.List;

/**
 * Classification quality on one data set, with the usual definitions (as scikit-learn computes
 * them): accuracy; per-class precision, recall and F1; their macro average (unweighted mean over
 * the classes that occur among the actual or predicted labels) and weighted average (weighted by
 * support); the confusion matrix; and the mean cross-entropy loss. A ratio whose denominator is
 * zero counts as 0.
 *
 * @param loss mean cross-entropy per example (NaN when not measured)
 * @param accuracy fraction of correct predictions
 * @param perClass scores of each class, by class index
 * @param macro unweighted mean over the classes present in actual or predicted labels
 * @param weighted support-weighted mean over the classes
 * @param confusion the confusion matrix
 */
public record Metrics(
    double loss,
    double accuracy,
    List<ClassScores> perClass,
    ClassScores macro,
    ClassScores weighted,
    ConfusionMatrix confusion) {

  /**
   * Copies the per-class scores.
   *
   * @param loss mean cross-entropy per example (NaN when not measured)
   * @param accuracy fraction of correct predictions
   * @param perClass scores of each class, by class index
   * @param macro unweighted mean over the classes present
   * @param weighted support-weighted mean over the classes
   * @param confusion the confusion matrix
   */
  public Metrics {
    perClass = List.copyOf(perClass);
  }

  /**
   * Metrics of paired labels, with the given mean loss.
   *
   * @param numClasses the number of classes
   * @param actual the true labels
   * @param predicted the predicted labels, one per true label
   * @param loss the mean loss, or NaN when not measured
   * @return the metrics
   */
  public static Metrics of(int numClasses, int[] actual, int[] predicted, double loss) {
    return of(ConfusionMatrix.of(numClasses, actual, predicted), loss);
  }

  /**
   * Metrics of a confusion matrix, with the given mean loss.
   *
   * @param confusion the confusion matrix
   * @param loss the mean loss, or NaN when not measured
   * @return the metrics
   */
  public static Metrics of(ConfusionMatrix confusion, double loss) {
    int k = confusion.numClasses();
    long total = confusion.total();
    long correct = 0;
    List<ClassScores> perClass = new ArrayList<>(k);
    double macroP = 0;
    double macroR = 0;
    double macroF = 0;
    double weightedP = 0;
    double weightedR = 0;
    double weightedF = 0;
    int present = 0;
    for (int c = 0; c < k; c++) {
      long tp = confusion.count(c, c);
      long actualPositives = 0;
      long predictedPositives = 0;
      for (int o = 0; o < k; o++) {
        actualPositives += confusion.count(c, o);
        predictedPositives += confusion.count(o, c);
      }
      correct += tp;
      double precision = ratio(tp, predictedPositives);
      double recall = ratio(tp, actualPositives);
      double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
      perClass.add(new ClassScores(precision, recall, f1, actualPositives));
      if (actualPositives > 0 || predictedPositives > 0) {
        present++;
        macroP += precision;
        macroR += recall;
        macroF += f1;
      }
      weightedP += precision * actualPositives;
      weightedR += recall * actualPositives;
      weightedF += f1 * actualPositives;
    }
    ClassScores macro =
        present == 0
            ? new ClassScores(0, 0, 0, total)
            : new ClassScores(macroP / present, macroR / present, macroF / present, total);
    ClassScores weighted =
        total == 0
            ? new ClassScores(0, 0, 0, 0)
            : new ClassScores(weightedP / total, weightedR / total, weightedF / total, total);
    return new Metrics(loss, ratio(correct, total), perClass, macro, weighted, confusion);
  }

  private static double ratio(long numerator, long denominator) {
    return denominator == 0 ? 0 : (double) numerator / denominator;
  }

  /**
   * Number of examples measured.
   *
   * @return the total of the confusion matrix
   */
  public long count() {
    return confusion.total();
  }

  /**
   * One line: loss, accuracy and macro precision/recall/F1.
   *
   * @return the line
   */
  public String summary() {
    return String.format(
        "loss %.4f - accuracy %.4f - precision %.4f - recall %.4f - f1 %.4f",
        loss, accuracy, macro.precision(), macro.recall(), macro.f1());
  }

  /**
   * A classification report like scikit-learn's, followed by the confusion matrix.
   *
   * @return the report
   */
  public String report() {
    StringBuilder sb =
        new StringBuilder(
            String.format(
                "%8s %10s %10s %10s %10s%n", "class", "precision", "recall", "f1", "support"));
    for (int c = 0; c < perClass.size(); c++) {
      sb.append(row(Integer.toString(c), perClass.get(c)));
    }
    sb.append(row("macro", macro)).append(row("weighted", weighted));
    sb.append(
        String.format("accuracy %.4f over %d examples, loss %.4f%n", accuracy, count(), loss));
    sb.append(confusion.format());
    return sb.toString();
  }

  private static String row(String label, ClassScores s) {
    return String.format(
        "%8s %10.4f %10.4f %10.4f %10d%n", label, s.precision(), s.recall(), s.f1(), s.support());
  }
}
