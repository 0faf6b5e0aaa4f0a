package io.mnistfl.fl;

import io.mnistfl.model.Weights;
import java.util.List;
import java.util.OptionalDouble;
import java.util.Random;

/**
 * DP-FedAvg with fixed clipping (McMahan et al. 2018): each client's update Δᵢ = wᵢ − global is
 * scaled down to an L2 norm (over all its parameters) of at most S, the clipped updates are
 * summed, Gaussian noise N(0, (z·S)²) is added to every element of the sum, and the global
 * weights move by the noisy sum over a denominator. Every client weighs the same, since a
 * claimed example count would lift the bound on one client's influence. {@link
 * PrivacyAccountant} says what (ε, δ) the rounds spend when clients are {@link
 * FederationSettings#withPoissonSampling Poisson-sampled} with probability q and the
 * denominator is fixed at the expected number of clients, q·N ({@link #withExpectedClients}):
 * then no client moves the average by more than S / qN, however many take part, and a round
 * without any client still adds its noise. The noise is drawn from the given generator: a
 * seeded {@link Random} reproduces a simulation, a deployment passes a {@link
 * java.security.SecureRandom}. Its {@link #state() state} is how many draws it has taken, so a
 * resumed simulation with a generator seeded as before goes on with the same noise.
 */
public final class DpFedAvg implements Aggregator {
  private final double clipNorm;
  private final double noiseMultiplier;
  private final OptionalDouble expectedClients;
  private final Random noise;
  private long drawn;

  /**
   * Divides by the number of updates in the round; see {@link #withExpectedClients} for the
   * denominator the privacy accounting needs.
   *
   * @param clipNorm S, the largest L2 norm a client's update keeps, {@code > 0}
   * @param noiseMultiplier z, the noise's standard deviation over S, {@code >= 0} (0: clipping
   *     only, no privacy)
   * @param noise where the noise comes from
   */
  public DpFedAvg(double clipNorm, double noiseMultiplier, Random noise) {
    this(clipNorm, noiseMultiplier, OptionalDouble.empty(), noise);
  }

  private DpFedAvg(double clipNorm, double noiseMultiplier, OptionalDouble expectedClients,
      Random noise) {
    Require.positive("clipNorm", clipNorm);
    Require.nonNegative("noiseMultiplier", noiseMultiplier);
    expectedClients.ifPresent(n -> Require.positive("expectedClients", n));
    this.clipNorm = clipNorm;
    this.noiseMultiplier = noiseMultiplier;
    this.expectedClients = expectedClients;
    this.noise = noise;
  }

  /**
   * The same aggregator (sharing its noise generator) dividing every round's noisy sum by
   * {@code qN}, the expected number of clients, {@code > 0}, whatever number took part.
   */
  public DpFedAvg withExpectedClients(double qN) {
    return new DpFedAvg(clipNorm, noiseMultiplier, OptionalDouble.of(qN), noise);
  }

  @Override
  public Weights aggregate(Weights global, List<ClientUpdate> updates) {
    WeightMath.requireUpdates(updates);
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
    return addNoisyAverage(global, sum, expectedClients.orElse(updates.size()));
  }

  /**
   * With a fixed denominator, the noise alone moves the weights, so that an empty round looks
   * like any other; otherwise the weights stay.
   */
  @Override
  public Weights withoutUpdates(Weights global) {
    return expectedClients.isPresent()
        ? addNoisyAverage(global, WeightMath.zerosLike(global), expectedClients.getAsDouble())
        : global;
  }

  private Weights addNoisyAverage(Weights global, double[][] sum, double denominator) {
    double sigma = noiseMultiplier * clipNorm;
    for (int a = 0; a < sum.length; a++) {
      float[] g = global.arrays().get(a).values();
      for (int i = 0; i < g.length; i++) {
        double noisy = sigma == 0 ? sum[a][i] : sum[a][i] + sigma * gaussian();
        sum[a][i] = g[i] + noisy / denominator;
      }
    }
    return WeightMath.withValues(global, sum);
  }

  private double gaussian() {
    drawn++;
    return noise.nextGaussian();
  }

  /** How many Gaussians it has drawn, as one array of one value; empty before the first. */
  @Override
  public List<double[]> state() {
    return drawn == 0 ? List.of() : List.of(new double[] {drawn});
  }

  /**
   * Draws and drops Gaussians until as many as in {@code state} are drawn, so that a generator
   * seeded as the saved run's was continues where that run stopped.
   */
  @Override
  public void restore(List<double[]> state) {
    if (state.isEmpty()) {
      return;
    }
    if (state.size() != 1 || state.get(0).length != 1 || state.get(0)[0] < drawn) {
      throw new IllegalArgumentException(this + " keeps one count of draws of at least "
          + drawn + ", but was given another state");
    }
    for (long target = (long) state.get(0)[0]; drawn < target; ) {
      gaussian();
    }
  }

  @Override
  public String toString() {
    return "DpFedAvg(clip=" + clipNorm + ", noise=" + noiseMultiplier
        + (expectedClients.isPresent() ? ", expected clients " + expectedClients.getAsDouble() : "")
        + ")";
  }
}
