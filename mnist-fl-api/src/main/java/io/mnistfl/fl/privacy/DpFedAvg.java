package io.mnistfl.fl.privacy;

import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.SiteFailure;
import io.mnistfl.fl.StrategyState;
import io.mnistfl.fl.aggregate.WeightMath;
import io.mnistfl.fl.server.FitResults;
import io.mnistfl.fl.server.Sampling;
import io.mnistfl.fl.server.SiteInstruction;
import io.mnistfl.fl.server.Strategy;
import io.mnistfl.internal.Require;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.Weights;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Random;

/**
 * DP-FedAvg with fixed clipping (McMahan et al. 2018) as a decorator around any strategy that
 * aggregates sums ({@link Strategy#aggregatesSums()}). It owns the sampling and the denominator its
 * privacy accounting assumes: each available site takes part independently with probability q; each
 * update Δᵢ = wᵢ − global is clipped to an L2 norm (over all its parameters) of at most S; Gaussian
 * noise N(0, (z·S)²) is added to every element of their sum; and the wrapped strategy receives that
 * noisy sum over the fixed denominator q·N, whatever number took part, so that no site moves the
 * mean by more than S / qN and a round without any site still adds its noise. Every site weighs the
 * same: a claimed example count would lift the bound on one site's influence. {@link
 * PrivacyAccountant} says what (ε, δ) the rounds spend.
 *
 * <p>Under secure aggregation the server cannot clip: each site is told to clip its own update
 * ({@link io.mnistfl.fl.RoundConfig#clipNorm()}) and to weigh itself 1, and the noise is added
 * once, to the unmasked sum. The guarantee then trusts the sites to clip honestly.
 *
 * <p>The noise and the sampling are drawn from a {@link SecureRandom}: anyone who could regenerate
 * the noise (a site that knows a seed, which the provenance records) could subtract it from the
 * released model and undo the privacy. Only a simulation may ask for {@link
 * Builder#seededForSimulation seeded} draws, to be reproducible; the {@link #parameters()
 * parameters} (and so the provenance) say which source was used. The {@link #state() state} counts
 * the draws, so a resumed seeded simulation goes on with the same noise.
 */
public final class DpFedAvg implements Strategy {
  /** The name of the count of Gaussians drawn in the state. */
  static final String DRAWS = "dp.draws";

  private final Strategy inner;
  private final double clipNorm;
  private final double noiseMultiplier;
  private final double q;
  private final OptionalLong seed;
  private final Random noise;
  private long drawn;
  private double denominator = 1;

  private DpFedAvg(Builder b) {
    this.inner = b.inner;
    this.clipNorm = b.clipNorm;
    this.noiseMultiplier = b.noiseMultiplier;
    this.q = b.q;
    this.seed = b.seed;
    this.noise = b.seed.isPresent() ? new Random(b.seed.getAsLong()) : new SecureRandom();
  }

  /**
   * A builder wrapping {@code inner}, which must aggregate sums and instruct every site it is given
   * (sample all).
   *
   * @param inner the strategy that aggregates the noisy sum
   * @return the builder
   */
  public static Builder wrap(Strategy inner) {
    return new Builder(inner);
  }

  /** Each available site with probability q, then the wrapped strategy's instructions. */
  @Override
  public List<SiteInstruction> configureFit(int round, Weights global, List<String> available) {
    Random sampling = seed.isPresent() ? new Random(seed.getAsLong() * 31 + round) : noise;
    List<String> chosen = Sampling.poisson(q).sample(available, sampling);
    denominator = q * available.size();
    List<SiteInstruction> instructions = inner.configureFit(round, global, chosen);
    if (!instructions.stream().map(SiteInstruction::siteId).toList().equals(chosen)) {
      throw new IllegalStateException(
          "DpFedAvg samples the sites itself: the wrapped strategy "
              + inner
              + " must instruct every site it is given (use Sampling.all())");
    }
    return instructions.stream()
        .map(i -> new SiteInstruction(i.siteId(), i.config().withClipNorm(clipNorm)))
        .toList();
  }

  /** Clips, sums and noises the updates, then hands the noisy sum over q·N to the strategy. */
  @Override
  public Weights aggregateFit(int round, Weights global, FitResults results) {
    double[][] sum;
    int contributors;
    if (results instanceof FitResults.Updates u) {
      sum = WeightMath.zerosLike(global);
      for (ClientUpdate update : u.updates()) {
        double norm = Math.sqrt(WeightMath.squaredDistance(update.weights(), global));
        double scale = norm > clipNorm ? clipNorm / norm : 1;
        for (int a = 0; a < sum.length; a++) {
          float[] w = update.weights().arrays().get(a).values();
          float[] g = global.arrays().get(a).values();
          for (int i = 0; i < w.length; i++) {
            sum[a][i] += scale * ((double) w[i] - g[i]);
          }
        }
      }
      contributors = u.updates().size();
    } else {
      FitResults.Sum s = (FitResults.Sum) results;
      sum = WeightMath.toDouble(s.deltaSum());
      contributors = s.contributors();
    }
    double sigma = noiseMultiplier * clipNorm;
    if (sigma > 0) {
      for (double[] row : sum) {
        for (int i = 0; i < row.length; i++) {
          row[i] += sigma * gaussian();
        }
      }
    }
    return inner.aggregateFit(
        round,
        global,
        new FitResults.Sum(
            WeightMath.withValues(global, sum), denominator, contributors, results.failures()));
  }

  private double gaussian() {
    drawn++;
    return noise.nextGaussian();
  }

  @Override
  public List<SiteInstruction> configureEvaluate(
      int round, Weights weights, List<String> available) {
    return inner.configureEvaluate(round, weights, available);
  }

  @Override
  public Optional<Metrics> aggregateEvaluate(
      int round, List<ClientEvaluation> results, List<SiteFailure> failures) {
    return inner.aggregateEvaluate(round, results, failures);
  }

  @Override
  public boolean aggregatesSums() {
    return true;
  }

  @Override
  public boolean keepsState() {
    return true;
  }

  /** The count of Gaussians drawn, {@value #DRAWS}, and the wrapped strategy's state. */
  @Override
  public StrategyState state() {
    return inner.state().plus(StrategyState.empty().withScalar(DRAWS, drawn));
  }

  /**
   * Takes up the count of draws and hands the rest to the wrapped strategy. A seeded simulation
   * draws and drops Gaussians until as many as saved are drawn, so that it continues where the
   * saved run stopped; secure draws cannot be replayed and need not be.
   */
  @Override
  public void restore(StrategyState state) {
    if (state.isEmpty()) {
      inner.restore(state);
      return;
    }
    StrategyState rest;
    double count;
    Optional<List<double[]>> positional = state.positional();
    if (positional.isPresent()) {
      // A format-1 checkpoint: the count as one array of one value, then the wrapped state.
      List<double[]> arrays = positional.get();
      count = arrays.get(0).length == 1 ? arrays.get(0)[0] : -1;
      rest = StrategyState.ofPositional(arrays.subList(1, arrays.size()));
    } else {
      count = state.scalar(DRAWS).orElse(-1);
      rest = state.without(DRAWS);
    }
    if (!(count >= drawn) || count != Math.rint(count)) {
      throw new IllegalArgumentException(
          this
              + " keeps a count of draws ("
              + DRAWS
              + ") of at least "
              + drawn
              + ", but was given "
              + state);
    }
    long target = (long) count;
    if (seed.isPresent()) {
      while (drawn < target) {
        gaussian();
      }
    }
    drawn = target;
    inner.restore(rest);
  }

  @Override
  public Map<String, String> parameters() {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("dp.clipNorm", String.valueOf(clipNorm));
    p.put("dp.noiseMultiplier", String.valueOf(noiseMultiplier));
    p.put("dp.q", String.valueOf(q));
    p.put("dp.randomness", randomness());
    p.putAll(inner.parameters());
    return p;
  }

  /** Where the noise and the sampling come from, as the provenance records it. */
  private String randomness() {
    return seed.isPresent()
        ? "seeded " + seed.getAsLong() + " (a reproducible simulation: not private)"
        : "SecureRandom";
  }

  @Override
  public String toString() {
    return "DpFedAvg(clip="
        + clipNorm
        + ", noise="
        + noiseMultiplier
        + ", q="
        + q
        + ") around "
        + inner;
  }

  /** Builds a {@link DpFedAvg}; {@link #build()} checks the values. */
  public static final class Builder {
    private final Strategy inner;
    private double clipNorm = 1;
    private double noiseMultiplier = 1;
    private double q = 1;
    private OptionalLong seed = OptionalLong.empty();

    private Builder(Strategy inner) {
      this.inner = Objects.requireNonNull(inner, "inner");
    }

    /**
     * S, the largest L2 norm an update keeps, {@code > 0} (default 1).
     *
     * @param value the clip norm S
     * @return this builder
     */
    public Builder clipNorm(double value) {
      this.clipNorm = value;
      return this;
    }

    /**
     * z, the noise's standard deviation over S, {@code >= 0} (default 1; 0: no privacy).
     *
     * @param value the noise multiplier z
     * @return this builder
     */
    public Builder noiseMultiplier(double value) {
      this.noiseMultiplier = value;
      return this;
    }

    /**
     * q, each site's probability of taking part in a round, in (0, 1] (default 1).
     *
     * @param value the sampling probability q
     * @return this builder
     */
    public Builder samplingProbability(double value) {
      this.q = value;
      return this;
    }

    /**
     * Draws the noise and the sampling from generators seeded with {@code value}, so that a
     * simulation is reproducible (default: a {@link SecureRandom}). Never in a deployment: whoever
     * knows the seed can regenerate the noise and subtract it, so the model is then not private.
     *
     * @param value the seed
     * @return this builder
     */
    public Builder seededForSimulation(long value) {
      this.seed = OptionalLong.of(value);
      return this;
    }

    /**
     * The decorator; fails unless the wrapped strategy aggregates sums.
     *
     * @return the decorator
     * @throws IllegalArgumentException naming the first value out of range, or when the wrapped
     *     strategy needs each site's update
     */
    public DpFedAvg build() {
      Require.positive("clipNorm", clipNorm);
      Require.nonNegative("noiseMultiplier", noiseMultiplier);
      Require.inUnitInterval("q", q);
      if (!inner.aggregatesSums()) {
        throw new IllegalArgumentException(
            "DpFedAvg hands its strategy a noisy sum, but "
                + inner.parameters().getOrDefault("aggregator", inner.toString())
                + " needs each site's update");
      }
      return new DpFedAvg(this);
    }
  }
}
