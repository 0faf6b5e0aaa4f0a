package io.mnistfl.predict;

import io.mnistfl.train.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Temperature scaling (Guo et al. 2017): one number T, fitted on labelled examples the model did
 * not train on, that turns its probabilities p into {@code softmax(log p / T)}. It changes no
 * prediction, only how sure each one claims to be, so that "90 %" is right about 90 % of the time.
 *
 * @param temperature T; above 1 the model was overconfident, below 1 underconfident
 * @param examples how many labelled examples T was fitted on
 * @param eceBefore expected calibration error of the raw probabilities on those examples, with
 *     {@value #BINS} equal-width bins of top probability
 * @param eceAfter the same after scaling
 * @param nllBefore mean negative log-likelihood of the true class before
 * @param nllAfter the same after scaling
 * @param source where the examples came from, e.g. {@code mnist validation split (6000, seed 42)}
 */
public record Calibration(
    double temperature,
    int examples,
    double eceBefore,
    double eceAfter,
    double nllBefore,
    double nllAfter,
    String source) {

  /** The bins of top probability that {@link #expectedCalibrationError} averages over. */
  public static final int BINS = 15;

  /** The file a model's calibration is saved as, inside the model's folder. */
  public static final String FILE = "calibration.json";

  private static final double MIN_INVERSE = 0.02;
  private static final double MAX_INVERSE = 20;

  /**
   * Checks the temperature and the counts.
   *
   * @param temperature T, finite and positive
   * @param examples at least one
   * @param eceBefore ECE before scaling
   * @param eceAfter ECE after
   * @param nllBefore NLL before
   * @param nllAfter NLL after
   * @param source where the examples came from
   */
  public Calibration {
    if (!(temperature > 0) || Double.isInfinite(temperature)) {
      throw new IllegalArgumentException(
          "calibration: temperature must be finite and > 0, was " + temperature);
    }
    if (examples < 1) {
      throw new IllegalArgumentException("calibration: examples must be >= 1, was " + examples);
    }
    java.util.Objects.requireNonNull(source, "source");
  }

  /**
   * Fits T by minimising the negative log-likelihood of the true labels (a convex problem in 1/T,
   * solved by golden-section search).
   *
   * @param probabilities {@code labels.length × classes} probabilities, example by example
   * @param labels the true class of each example
   * @param classes the number of classes
   * @param source where the examples came from, for the record
   * @return the fitted calibration with its before/after figures
   * @throws IllegalArgumentException when the sizes disagree, a label is out of range or there are
   *     no examples
   */
  public static Calibration fit(float[] probabilities, int[] labels, int classes, String source) {
    check(probabilities, labels, classes);
    double lo = MIN_INVERSE;
    double hi = MAX_INVERSE;
    double phi = (Math.sqrt(5) - 1) / 2;
    double a = hi - phi * (hi - lo);
    double b = lo + phi * (hi - lo);
    double fa = nll(probabilities, labels, classes, a);
    double fb = nll(probabilities, labels, classes, b);
    for (int i = 0; i < 80 && hi - lo > 1e-6; i++) {
      if (fa <= fb) {
        hi = b;
        b = a;
        fb = fa;
        a = hi - phi * (hi - lo);
        fa = nll(probabilities, labels, classes, a);
      } else {
        lo = a;
        a = b;
        fa = fb;
        b = lo + phi * (hi - lo);
        fb = nll(probabilities, labels, classes, b);
      }
    }
    double inverse = (lo + hi) / 2;
    float[] scaled = scale(probabilities, classes, inverse);
    return new Calibration(
        1 / inverse,
        labels.length,
        expectedCalibrationError(probabilities, labels, classes),
        expectedCalibrationError(scaled, labels, classes),
        nll(probabilities, labels, classes, 1),
        nll(probabilities, labels, classes, inverse),
        source);
  }

  /**
   * The calibrated probabilities: {@code softmax(log p / T)} of each example's row.
   *
   * @param probabilities {@code n × classes} probabilities
   * @param classes the number of classes
   * @return a new array of the same shape
   */
  public float[] apply(float[] probabilities, int classes) {
    if (classes < 1 || probabilities.length % classes != 0) {
      throw new IllegalArgumentException(
          "calibration: " + probabilities.length + " values are not rows of " + classes);
    }
    return scale(probabilities, classes, 1 / temperature);
  }

  /**
   * Expected calibration error: the example-weighted mean, over {@value #BINS} equal-width bins of
   * top probability, of |accuracy − mean top probability| in the bin.
   *
   * @param probabilities {@code labels.length × classes} probabilities
   * @param labels the true classes
   * @param classes the number of classes
   * @return the ECE, in [0, 1]
   */
  public static double expectedCalibrationError(float[] probabilities, int[] labels, int classes) {
    check(probabilities, labels, classes);
    double[] confidence = new double[BINS];
    int[] correct = new int[BINS];
    int[] count = new int[BINS];
    for (int i = 0; i < labels.length; i++) {
      int best = argMax(probabilities, i * classes, classes);
      double top = probabilities[i * classes + best];
      int bin = Math.min(BINS - 1, (int) (top * BINS));
      confidence[bin] += top;
      correct[bin] += best == labels[i] ? 1 : 0;
      count[bin]++;
    }
    double ece = 0;
    for (int k = 0; k < BINS; k++) {
      if (count[k] > 0) {
        ece += Math.abs(correct[k] - confidence[k]) / labels.length;
      }
    }
    return ece;
  }

  /**
   * Saves this calibration as {@value #FILE} in a model's folder.
   *
   * @param modelDir the saved model's folder
   * @throws IOException when the file cannot be written
   */
  public void write(Path modelDir) throws IOException {
    Json.write(modelDir.resolve(FILE), this);
  }

  /**
   * The calibration saved in a model's folder, if there is one.
   *
   * @param modelDir the saved model's folder
   * @return the calibration, or empty when the model has none
   * @throws IOException naming the file when it is there but malformed
   */
  public static Optional<Calibration> read(Path modelDir) throws IOException {
    Path file = modelDir.resolve(FILE);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      return Optional.of(Json.read(file, Calibration.class));
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
  }

  static int argMax(float[] values, int offset, int length) {
    int best = 0;
    for (int c = 1; c < length; c++) {
      if (values[offset + c] > values[offset + best]) {
        best = c;
      }
    }
    return best;
  }

  /** Mean −log of the true class's probability after scaling log-probabilities by {@code beta}. */
  private static double nll(float[] p, int[] labels, int classes, double beta) {
    double sum = 0;
    double[] logits = new double[classes];
    for (int i = 0; i < labels.length; i++) {
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < classes; c++) {
        logits[c] = beta * log(p[i * classes + c]);
        max = Math.max(max, logits[c]);
      }
      double z = 0;
      for (int c = 0; c < classes; c++) {
        z += Math.exp(logits[c] - max);
      }
      sum += max + Math.log(z) - logits[labels[i]];
    }
    return sum / labels.length;
  }

  private static float[] scale(float[] p, int classes, double beta) {
    float[] out = new float[p.length];
    double[] logits = new double[classes];
    for (int row = 0; row < p.length; row += classes) {
      double max = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < classes; c++) {
        logits[c] = beta * log(p[row + c]);
        max = Math.max(max, logits[c]);
      }
      double z = 0;
      for (int c = 0; c < classes; c++) {
        logits[c] = Math.exp(logits[c] - max);
        z += logits[c];
      }
      for (int c = 0; c < classes; c++) {
        out[row + c] = (float) (logits[c] / z);
      }
    }
    return out;
  }

  /** The log of a probability; one that underflowed to zero counts as the smallest float. */
  private static double log(float p) {
    return Math.log(Math.max(p, Float.MIN_VALUE));
  }

  private static void check(float[] probabilities, int[] labels, int classes) {
    if (labels.length == 0) {
      throw new IllegalArgumentException("calibration: no examples");
    }
    if (classes < 2 || probabilities.length != (long) labels.length * classes) {
      throw new IllegalArgumentException(
          "calibration: "
              + labels.length
              + " examples of "
              + classes
              + " classes need "
              + (long) labels.length * classes
              + " probabilities, got "
              + probabilities.length);
    }
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] < 0 || labels[i] >= classes) {
        throw new IllegalArgumentException(
            "calibration: label "
                + labels[i]
                + " of example "
                + i
                + " is outside 0.."
                + (classes - 1));
      }
    }
  }
}
