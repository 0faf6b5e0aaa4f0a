package io.mnistfl.fl.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.assertj.core.data.Percentage;
import org.junit.jupiter.api.Test;

/** Rényi-DP accounting against closed forms and against dp_accounting's published values. */
class PrivacyAccountantTest {

  @Test
  void withoutSamplingTheDivergenceIsTheGaussianClosedForm() {
    // every client in every round: RDP(α) = α / 2z²
    assertThat(PrivacyAccountant.rdp(1, 2, 10)).isEqualTo(10 / 8.0);
    // the binomial sum in log space, with q a hair below 1, lands on the same value
    assertThat(PrivacyAccountant.rdp(1 - 1e-12, 2, 10)).isCloseTo(10 / 8.0, within(1e-9));
    assertThat(PrivacyAccountant.rdp(0, 2, 10)).isZero();
    assertThat(PrivacyAccountant.rdp(0.1, 0, 10)).isInfinite();
  }

  @Test
  void sampledGaussianMatchesDpAccountingsReferenceValues() {
    // dp_accounting's rdp_privacy_accountant_test: q 0.01, z 2.5, 50 compositions,
    // RDP at order 5 = 2.18075656e-03 and at order 50 = 2.38460375e-02 (rtol 1e-4)
    assertThat(50 * PrivacyAccountant.rdp(0.01, 2.5, 5))
        .isCloseTo(2.18075656e-03, Percentage.withPercentage(0.01));
    assertThat(50 * PrivacyAccountant.rdp(0.01, 2.5, 50))
        .isCloseTo(2.38460375e-02, Percentage.withPercentage(0.01));
  }

  @Test
  void convertsToEpsilonWithTheCanonneKamathSteinkeBound() {
    // dp_accounting's hand-computed case: constant RDP 1.1 at orders 2..32, δ = 1e-5
    int[] orders = new int[31];
    Arrays.setAll(orders, i -> i + 2);
    double[] rdp = new double[31];
    Arrays.fill(rdp, 1.1);
    assertThat(PrivacyAccountant.epsilon(orders, rdp, 1e-5)).isCloseTo(1.32783806176, within(1e-9));
  }

  @Test
  void endToEndMatchesOpacusWithinItsFinerOrders() {
    // Opacus's accountants_test: z 1.5, q 0.04, 2,250 steps, δ 1e-5 → ε 7.32911117143 over
    // fractional orders too; integer orders alone give a hair more.
    assertThat(PrivacyAccountant.epsilon(0.04, 1.5, 2250, 1e-5))
        .isBetween(7.32911117143, 7.32911117143 + 0.01);
  }

  @Test
  void epsilonGrowsWithRoundsAndShrinksWithNoiseAndSampling() {
    double base = PrivacyAccountant.epsilon(0.1, 1.0, 100, 1e-5);
    assertThat(base).isPositive().isFinite();
    assertThat(PrivacyAccountant.epsilon(0.1, 1.0, 200, 1e-5)).isGreaterThan(base);
    assertThat(PrivacyAccountant.epsilon(0.1, 2.0, 100, 1e-5)).isLessThan(base);
    assertThat(PrivacyAccountant.epsilon(0.01, 1.0, 100, 1e-5)).isLessThan(base);
    assertThat(PrivacyAccountant.epsilon(0.1, 1.0, 0, 1e-5)).isZero();
    assertThat(PrivacyAccountant.epsilon(0.1, 0, 1, 1e-5)).isInfinite();
  }

  @Test
  void rejectsImpossibleArgumentsByName() {
    assertThatThrownBy(() -> PrivacyAccountant.epsilon(1.5, 1, 1, 1e-5))
        .hasMessage("samplingRate must be in [0, 1], was 1.5");
    assertThatThrownBy(() -> PrivacyAccountant.epsilon(0.1, -1, 1, 1e-5))
        .hasMessage("noiseMultiplier must be >= 0, was -1.0");
    assertThatThrownBy(() -> PrivacyAccountant.epsilon(0.1, 1, 1, 1))
        .hasMessage("delta must be in (0, 1), was 1.0");
  }
}
