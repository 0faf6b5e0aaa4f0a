package io.mnistfl.predict;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Temperature scaling recovers a known temperature and lowers the calibration error. */
class CalibrationTest {
  private static final int CLASSES = 10;

  /**
   * Examples whose labels are drawn from softmax(z) (so softmax(z) is perfectly calibrated), and
   * the probabilities a model overconfident by {@code t} would report: softmax(t·z).
   */
  private static float[][] sample(int n, double t, long seed, int[] labels) {
    Random r = new Random(seed);
    float[] truth = new float[n * CLASSES];
    float[] reported = new float[n * CLASSES];
    for (int i = 0; i < n; i++) {
      double[] z = new double[CLASSES];
      int peak = r.nextInt(CLASSES);
      for (int c = 0; c < CLASSES; c++) {
        z[c] = r.nextGaussian() + (c == peak ? 3 + 2 * r.nextDouble() : 0);
      }
      double[] p = softmax(z, 1);
      double[] q = softmax(z, t);
      double u = r.nextDouble();
      int label = CLASSES - 1;
      for (int c = 0; c < CLASSES; c++) {
        u -= p[c];
        if (u < 0) {
          label = c;
          break;
        }
      }
      labels[i] = label;
      for (int c = 0; c < CLASSES; c++) {
        truth[i * CLASSES + c] = (float) p[c];
        reported[i * CLASSES + c] = (float) q[c];
      }
    }
    return new float[][] {truth, reported};
  }

  private static double[] softmax(double[] z, double scale) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : z) {
      max = Math.max(max, scale * v);
    }
    double sum = 0;
    double[] out = new double[z.length];
    for (int c = 0; c < z.length; c++) {
      out[c] = Math.exp(scale * z[c] - max);
      sum += out[c];
    }
    for (int c = 0; c < z.length; c++) {
      out[c] /= sum;
    }
    return out;
  }

  @Test
  void recoversTheTemperatureOfAnOverconfidentModelAndLowersItsError() {
    int n = 20_000;
    int[] labels = new int[n];
    float[][] data = sample(n, 2.5, 7, labels);

    Calibration fitted = Calibration.fit(data[1], labels, CLASSES, "synthetic");

    assertThat(fitted.temperature()).isCloseTo(2.5, org.assertj.core.data.Offset.offset(0.15));
    assertThat(fitted.eceBefore()).isGreaterThan(0.05);
    assertThat(fitted.eceAfter()).isLessThan(0.02).isLessThan(fitted.eceBefore() / 3);
    assertThat(fitted.nllAfter()).isLessThan(fitted.nllBefore());
    assertThat(fitted.examples()).isEqualTo(n);
    // Scaling the reported probabilities gives back the true ones.
    float[] scaled = fitted.apply(data[1], CLASSES);
    double worst = 0;
    for (int i = 0; i < scaled.length; i++) {
      worst = Math.max(worst, Math.abs(scaled[i] - data[0][i]));
    }
    assertThat(worst).isLessThan(0.05);
  }

  @Test
  void aCalibratedModelKeepsATemperatureNearOne() {
    int n = 20_000;
    int[] labels = new int[n];
    float[][] data = sample(n, 1, 11, labels);
    Calibration fitted = Calibration.fit(data[0], labels, CLASSES, "synthetic");
    assertThat(fitted.temperature()).isBetween(0.93, 1.07);
    assertThat(fitted.eceBefore()).isLessThan(0.02);
  }

  @Test
  void scalingNeverChangesThePredictedClassAndRowsSumToOne() {
    int[] labels = new int[500];
    float[] p = sample(500, 3, 5, labels)[1];
    Calibration c = new Calibration(1.7, 1, 0, 0, 0, 0, "test");
    float[] q = c.apply(p, CLASSES);
    for (int i = 0; i < labels.length; i++) {
      assertThat(Calibration.argMax(q, i * CLASSES, CLASSES))
          .isEqualTo(Calibration.argMax(p, i * CLASSES, CLASSES));
      double sum = 0;
      for (int k = 0; k < CLASSES; k++) {
        sum += q[i * CLASSES + k];
      }
      assertThat(sum).isCloseTo(1, org.assertj.core.data.Offset.offset(1e-5));
      // Above 1 the top probability only falls.
      assertThat(q[i * CLASSES + Calibration.argMax(q, i * CLASSES, CLASSES)])
          .isLessThanOrEqualTo(p[i * CLASSES + Calibration.argMax(p, i * CLASSES, CLASSES)]);
    }
  }

  @Test
  void eceOfAKnownCase() {
    // Two examples at 0.9 (one right, one wrong) and two at 0.6 (both right):
    // |0.5 - 0.9|·2/4 + |1 - 0.6|·2/4 = 0.4.
    float[] p = {
      0.9f, 0.1f,
      0.9f, 0.1f,
      0.6f, 0.4f,
      0.6f, 0.4f
    };
    int[] labels = {0, 1, 0, 0};
    assertThat(Calibration.expectedCalibrationError(p, labels, 2))
        .isCloseTo(0.4, org.assertj.core.data.Offset.offset(1e-6));
  }

  @Test
  void savedBesideTheModelAndReadBack(@TempDir Path dir) throws Exception {
    assertThat(Calibration.read(dir)).isEmpty();
    Calibration c = new Calibration(1.3, 6000, 0.02, 0.004, 0.03, 0.025, "validation");
    c.write(dir);
    assertThat(Calibration.read(dir)).contains(c);
    java.nio.file.Files.writeString(dir.resolve(Calibration.FILE), "{\"temperature\": -1}");
    assertThatThrownBy(() -> Calibration.read(dir))
        .isInstanceOf(java.io.IOException.class)
        .hasMessageContaining(Calibration.FILE);
  }

  @Test
  void badInputIsNamed() {
    assertThatThrownBy(() -> Calibration.fit(new float[3], new int[] {0}, 2, "x"))
        .hasMessageContaining("need 2 probabilities, got 3");
    assertThatThrownBy(() -> Calibration.fit(new float[] {0.5f, 0.5f}, new int[] {2}, 2, "x"))
        .hasMessageContaining("label 2 of example 0 is outside 0..1");
    assertThatThrownBy(() -> new Calibration(0, 1, 0, 0, 0, 0, "x"))
        .hasMessageContaining("temperature must be finite and > 0");
  }
}
