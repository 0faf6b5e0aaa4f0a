package io.mnistfl.fl;

import io.mnistfl.model.Weights;
import java.util.List;
import java.util.Random;

/**
 * DP-FedAvg with fixed clipping (McMahan et al. 2018): each client's update Δᵢ = wᵢ − global is
 * scaled down to an L2 norm (over all its parameters) of at most S, the clipped updates are
 * summed, Gaussian noise N(0, (z·S)²) is added to every element of the sum, and the global
 * weights move by the noisy sum over the number of updates. Every client weighs the same, since
 * a claimed example count would lift the bound on one client's influence. {@link
 * PrivacyAccountant} says what (ε, δ) the rounds spend. The noise is drawn from the given
 * generator: a seeded {@link Random} reproduces a simulation, a deployment passes a {@link
 * java.security.SecureRandom}.
 */
public final class DpFedAvg implements Aggregator {
  private final double clipNorm;
  private final double noiseMultiplier;
  private final Random noise;

  /**
   * @param clipNorm S, the largest L2 norm a client's update keeps, {@code > 0}
   * @param noiseMultiplier z, the noise's standard deviation over S, {@code >= 0} (0: clipping
   *     only, no privacy)
   * @param noise where the noise comes from
   */
  public DpFedAvg(double clipNorm, double noiseMultiplier, Random noise) {
    Require.positive("clipNorm", clipNorm);
    Require.nonNegative("noiseMultiplier", noiseMultiplier);
    this.clipNorm = clipNorm;
    this.noiseMultiplier = noiseMultiplier;
    this.noise = noise;
  }

  @Override
  public Weights aggregate(Weights global, List<ClientUpdate> updates) {
    if (updates.isEmpty()) {
      throw new IllegalArgumentException("no updates to aggregate");
    }
    double[][] sum = WeightMath.zerosLike(global);
    for (ClientUpdate u : updates) {
      double norm = Math.sqrt(WeightMath.squaredDistance(u.weights(), global));
      double scale = norm > clipNorm ? clipNorm / norm : 1;
      for (int a = 0; a < sum.length; a++) {
        float[] w = u.weights().arrays().get(a).values();
        float[] g = global.arrays().get(a).values();
        for (int i = 0; i < w.length; i++) {
          sum[a][i] += scale * ((double) w[i] - g[i]);
        }
      }
    }
    double sigma = noiseMultiplier * clipNorm;
    for (int a = 0; a < sum.length; a++) {
      float[] g = global.arrays().get(a).values();
      for (int i = 0; i < g.length; i++) {
        double noisy = sigma == 0 ? sum[a][i] : sum[a][i] + sigma * noise.nextGaussian();
        sum[a][i] = g[i] + noisy / updates.size();
      }
    }
    return WeightMath.withValues(global, sum);
  }

  @Override
  public String toString() {
    return "DpFedAvg(clip=" + clipNorm + ", noise=" + noiseMultiplier + ")";
  }
}
