package io.mnistfl.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** Against values worked out by hand (and agreeing with scikit-learn's classification_report). */
class MetricsTest {
  private static final double EPS = 1e-9;

  @Test
  void threeClassCaseMatchesHandComputation() {
    int[] actual = {0, 0, 0, 1, 1, 2};
    int[] predicted = {0, 0, 1, 1, 2, 2};
    Metrics m = Metrics.of(3, actual, predicted, 0.25);

    assertThat(m.confusion().counts())
        .isDeepEqualTo(new long[][] {{2, 1, 0}, {0, 1, 1}, {0, 0, 1}});
    assertThat(m.accuracy()).isCloseTo(4.0 / 6, within(EPS));
    assertThat(m.loss()).isEqualTo(0.25);
    // class 0: P 2/2, R 2/3, F1 0.8; class 1: P 1/2, R 1/2, F1 0.5; class 2: P 1/2, R 1, F1 2/3
    assertThat(m.perClass().get(0).precision()).isCloseTo(1.0, within(EPS));
    assertThat(m.perClass().get(0).recall()).isCloseTo(2.0 / 3, within(EPS));
    assertThat(m.perClass().get(0).f1()).isCloseTo(0.8, within(EPS));
    assertThat(m.perClass().get(1).f1()).isCloseTo(0.5, within(EPS));
    assertThat(m.perClass().get(2).f1()).isCloseTo(2.0 / 3, within(EPS));
    assertThat(m.perClass().get(2).support()).isEqualTo(1);

    assertThat(m.macro().precision()).isCloseTo(2.0 / 3, within(EPS));
    assertThat(m.macro().recall()).isCloseTo((2.0 / 3 + 0.5 + 1) / 3, within(EPS));
    assertThat(m.macro().f1()).isCloseTo((0.8 + 0.5 + 2.0 / 3) / 3, within(EPS));
    assertThat(m.weighted().precision()).isCloseTo(0.75, within(EPS));
    assertThat(m.weighted().recall()).isCloseTo(4.0 / 6, within(EPS));
    assertThat(m.weighted().f1()).isCloseTo((3 * 0.8 + 2 * 0.5 + 2.0 / 3) / 6, within(EPS));
  }

  @Test
  void zeroDivisionCountsAsZeroAndAbsentClassesLeaveTheMacroAverage() {
    // class 1 is predicted but never actual (recall 0/0), class 2 appears nowhere.
    Metrics m = Metrics.of(3, new int[] {0, 0}, new int[] {0, 1}, Double.NaN);
    assertThat(m.perClass().get(1).precision()).isZero();
    assertThat(m.perClass().get(1).recall()).isZero();
    assertThat(m.perClass().get(1).f1()).isZero();
    assertThat(m.perClass().get(2).f1()).isZero();
    assertThat(m.macro().precision()).isCloseTo(0.5, within(EPS));
    assertThat(m.macro().recall()).isCloseTo(0.25, within(EPS));
    assertThat(m.macro().f1()).isCloseTo(1.0 / 3, within(EPS));
    assertThat(m.weighted().precision()).isCloseTo(1.0, within(EPS));
    assertThat(m.weighted().recall()).isCloseTo(0.5, within(EPS));
  }

  @Test
  void perfectPredictionsScoreOneEverywhere() {
    int[] labels = {0, 1, 2, 3, 3, 2};
    Metrics m = Metrics.of(4, labels, labels, 0.0);
    assertThat(m.accuracy()).isEqualTo(1.0);
    assertThat(m.macro().f1()).isEqualTo(1.0);
    assertThat(m.weighted().f1()).isEqualTo(1.0);
  }

  @Test
  void emptyInputHasZeroScoresNotNaN() {
    Metrics m = Metrics.of(10, new int[0], new int[0], Double.NaN);
    assertThat(m.accuracy()).isZero();
    assertThat(m.macro().f1()).isZero();
    assertThat(m.count()).isZero();
  }

  @Test
  void badLabelsAreNamed() {
    assertThatThrownBy(() -> Metrics.of(3, new int[] {0, 3}, new int[] {0, 1}, 0))
        .hasMessage("actual label 3 at index 1 is outside 0..2");
    assertThatThrownBy(() -> Metrics.of(3, new int[] {0}, new int[] {0, 1}, 0))
        .hasMessage("1 actual labels but 2 predictions");
  }

  @Test
  void confusionMatricesAdd() {
    ConfusionMatrix a = ConfusionMatrix.of(2, new int[] {0, 1}, new int[] {0, 0});
    ConfusionMatrix b = ConfusionMatrix.of(2, new int[] {1}, new int[] {1});
    assertThat(a.plus(b).counts()).isDeepEqualTo(new long[][] {{1, 0}, {1, 1}});
  }
}
