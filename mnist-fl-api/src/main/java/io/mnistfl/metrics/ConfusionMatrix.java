package io.mnistfl.metrics;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Arrays;

/** Counts of (actual class, predicted class) pairs. Immutable. */
public final class ConfusionMatrix {
  private final long[][] counts;

  private ConfusionMatrix(long[][] counts) {
    this.counts = counts;
  }

  /**
   * Tallies paired actual and predicted labels in {@code [0, numClasses)}.
   *
   * @param numClasses the number of classes
   * @param actual the true labels
   * @param predicted the predicted labels, one per true label
   * @return the matrix
   * @throws IllegalArgumentException when the counts differ or a label is out of range
   */
  public static ConfusionMatrix of(int numClasses, int[] actual, int[] predicted) {
    if (actual.length != predicted.length) {
      throw new IllegalArgumentException(
          actual.length + " actual labels but " + predicted.length + " predictions");
    }
    long[][] counts = new long[numClasses][numClasses];
    for (int i = 0; i < actual.length; i++) {
      checkLabel(actual[i], numClasses, "actual", i);
      checkLabel(predicted[i], numClasses, "predicted", i);
      counts[actual[i]][predicted[i]]++;
    }
    return new ConfusionMatrix(counts);
  }

  /**
   * A matrix from counts, {@code counts[actual][predicted]}; copied.
   *
   * @param counts a square array of counts
   * @return the matrix
   */
  @JsonCreator
  public static ConfusionMatrix fromCounts(@JsonProperty("counts") long[][] counts) {
    long[][] copy = new long[counts.length][];
    for (int i = 0; i < counts.length; i++) {
      if (counts[i].length != counts.length) {
        throw new IllegalArgumentException(
            "confusion matrix must be square, row "
                + i
                + " has "
                + counts[i].length
                + " columns for "
                + counts.length
                + " rows");
      }
      copy[i] = counts[i].clone();
    }
    return new ConfusionMatrix(copy);
  }

  private static void checkLabel(int label, int numClasses, String what, int index) {
    if (label < 0 || label >= numClasses) {
      throw new IllegalArgumentException(
          what + " label " + label + " at index " + index + " is outside 0.." + (numClasses - 1));
    }
  }

  /**
   * Number of classes.
   *
   * @return the number of classes
   */
  @JsonIgnore
  public int numClasses() {
    return counts.length;
  }

  /**
   * Examples of class {@code actual} predicted as {@code predicted}.
   *
   * @param actual the true class
   * @param predicted the predicted class
   * @return the count
   */
  public long count(int actual, int predicted) {
    return counts[actual][predicted];
  }

  /**
   * The counts, {@code [actual][predicted]}, as a copy.
   *
   * @return a copy of the counts
   */
  @JsonProperty("counts")
  public long[][] counts() {
    return fromCounts(counts).counts;
  }

  /**
   * Total examples.
   *
   * @return the sum of all counts
   */
  public long total() {
    long n = 0;
    for (long[] row : counts) {
      for (long c : row) {
        n += c;
      }
    }
    return n;
  }

  /**
   * Element-wise sum with another matrix of the same size.
   *
   * @param other a matrix with as many classes
   * @return the sum, a new matrix
   */
  public ConfusionMatrix plus(ConfusionMatrix other) {
    long[][] sum = counts();
    for (int a = 0; a < sum.length; a++) {
      for (int p = 0; p < sum.length; p++) {
        sum[a][p] += other.counts[a][p];
      }
    }
    return new ConfusionMatrix(sum);
  }

  /**
   * A fixed-width text table, rows actual, columns predicted.
   *
   * @return the table
   */
  public String format() {
    StringBuilder sb = new StringBuilder("actual\\pred");
    for (int p = 0; p < counts.length; p++) {
      sb.append(String.format("%6d", p));
    }
    sb.append('\n');
    for (int a = 0; a < counts.length; a++) {
      sb.append(String.format("%11d", a));
      for (int p = 0; p < counts.length; p++) {
        sb.append(String.format("%6d", counts[a][p]));
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ConfusionMatrix m && Arrays.deepEquals(m.counts, counts);
  }

  @Override
  public int hashCode() {
    return Arrays.deepHashCode(counts);
  }

  @Override
  public String toString() {
    return format();
  }
}
