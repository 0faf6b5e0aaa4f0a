package io.mnistfl.fl.privacy;

import io.mnistfl.internal.Require;

/**
 * The user-level (ε, δ) that {@link DpFedAvg} spends: Rényi-DP accounting of the sampled Gaussian
 * mechanism (Mironov, Talwar and Zhang 2019, exact for integer orders 2 to 256), composed over the
 * rounds and converted to (ε, δ) with the bound of Canonne, Kamath and Steinke 2020, as Google's
 * {@code dp_accounting} library does. It holds for clients sampled independently with probability q
 * into {@link DpFedAvg}'s fixed denominator q·N, as in McMahan et al. 2018; for round(q·N) clients
 * drawn at once it is only the usual approximation. Neighbouring federations differ by one client's
 * whole data.
 */
public final class PrivacyAccountant {
  private static final int MAX_ORDER = 256;

  private PrivacyAccountant() {}

  /**
   * ε after {@code rounds} rounds.
   *
   * @param samplingRate q, the share of clients sampled per round, in [0, 1]
   * @param noiseMultiplier z, the noise's standard deviation over the clipping norm, ≥ 0
   * @param rounds rounds run, ≥ 0
   * @param delta δ, in (0, 1)
   * @return ε ≥ 0; infinite when z = 0 and q > 0
   */
  public static double epsilon(
      double samplingRate, double noiseMultiplier, int rounds, double delta) {
    if (!(samplingRate >= 0 && samplingRate <= 1)) {
      throw new IllegalArgumentException("samplingRate must be in [0, 1], was " + samplingRate);
    }
    Require.nonNegative("noiseMultiplier", noiseMultiplier);
    if (rounds < 0) {
      throw new IllegalArgumentException("rounds must be >= 0, was " + rounds);
    }
    if (!(delta > 0 && delta < 1)) {
      throw new IllegalArgumentException("delta must be in (0, 1), was " + delta);
    }
    int[] orders = new int[MAX_ORDER - 1];
    double[] rdp = new double[orders.length];
    for (int i = 0; i < orders.length; i++) {
      orders[i] = i + 2;
      rdp[i] = rounds * rdp(samplingRate, noiseMultiplier, orders[i]);
    }
    return epsilon(orders, rdp, delta);
  }

  /**
   * One round's Rényi divergence of integer order α: log A_α / (α − 1), where A_α = Σₖ C(α, k) (1 −
   * q)^(α−k) q^k exp((k² − k) / 2z²), summed in log space so that no term overflows.
   */
  static double rdp(double q, double z, int order) {
    if (q == 0) {
      return 0;
    }
    if (z == 0) {
      return Double.POSITIVE_INFINITY;
    }
    if (q == 1) {
      return order / (2 * z * z);
    }
    double[] terms = new double[order + 1];
    double logBinomial = 0;
    double max = Double.NEGATIVE_INFINITY;
    for (int k = 0; k <= order; k++) {
      if (k > 0) {
        logBinomial += Math.log(order - k + 1) - Math.log(k);
      }
      terms[k] =
          logBinomial
              + k * Math.log(q)
              + (order - k) * Math.log1p(-q)
              + (k * (double) k - k) / (2 * z * z);
      max = Math.max(max, terms[k]);
    }
    double sum = 0;
    for (double t : terms) {
      sum += Math.exp(t - max);
    }
    return (max + Math.log(sum)) / (order - 1);
  }

  /** The smallest ε over the orders for the composed divergences {@code rdp}. */
  static double epsilon(int[] orders, double[] rdp, double delta) {
    double best = Double.POSITIVE_INFINITY;
    for (int i = 0; i < orders.length; i++) {
      double r = rdp[i];
      double alpha = orders[i];
      // δ ≥ √(1 − e^(−KL)) already gives ε = 0, and the order-α divergence bounds KL from above.
      double eps =
          delta * delta + Math.expm1(-r) > 0
              ? 0
              : r + Math.log1p(-1 / alpha) - Math.log(delta * alpha) / (alpha - 1);
      best = Math.min(best, eps);
    }
    return Math.max(0, best);
  }
}
