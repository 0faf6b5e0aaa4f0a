package io.mnistfl.fl.server;

import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.fl.SiteFailure;
import io.mnistfl.fl.StrategyState;
import io.mnistfl.fl.UpdateEncoding;
import io.mnistfl.fl.aggregate.Aggregator;
import io.mnistfl.fl.aggregate.FedAvg;
import io.mnistfl.internal.Require;
import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.Weights;
import io.mnistfl.train.LocalTraining;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;

/**
 * The default {@link Strategy}, Flower's FedAvg family: sample the round's sites, ask each to train
 * the same way (the learning rate decaying by round), hand their updates to an {@link Aggregator},
 * and, if asked, have the same sites evaluate the new weights. Build one with {@link #builder()}.
 * Sampling and seeds depend only on the round, so a resumed run samples as an uninterrupted one.
 */
public final class StandardStrategy implements Strategy {
  private final Aggregator aggregator;
  private final Sampling sampling;
  private final LocalTraining training;
  private final double learningRateDecay;
  private final UpdateEncoding updateEncoding;
  private final boolean federatedEvaluation;
  private final long seed;
  private List<String> lastSample = List.of();

  private StandardStrategy(Builder b) {
    this.aggregator = b.aggregator;
    this.sampling = b.sampling;
    this.training = b.training;
    this.learningRateDecay = b.learningRateDecay;
    this.updateEncoding = b.updateEncoding;
    this.federatedEvaluation = b.federatedEvaluation;
    this.seed = b.seed;
  }

  /**
   * FedAvg over every site, one local epoch of batch 32 at lr 0.01, full updates, seed 42.
   *
   * @return the builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The config every sampled site gets in {@code round}.
   *
   * @param round the 1-based round
   * @return the config, its learning rate decayed and its seed drawn for the round
   */
  public RoundConfig roundConfig(int round) {
    LocalTraining t =
        training
            .withLearningRate(training.learningRate() * Math.pow(learningRateDecay, round - 1))
            .withSeed(seed * 1_000_003L + round);
    return RoundConfig.of(round, t).withUpdateEncoding(updateEncoding);
  }

  @Override
  public List<SiteInstruction> configureFit(int round, Weights global, List<String> available) {
    lastSample = sampling.sample(available, new Random(seed * 31 + round));
    RoundConfig config = roundConfig(round);
    return lastSample.stream().map(id -> new SiteInstruction(id, config)).toList();
  }

  @Override
  public Weights aggregateFit(int round, Weights global, FitResults results) {
    if (results instanceof FitResults.Updates u) {
      return u.updates().isEmpty() ? global : aggregator.aggregate(global, u.updates());
    }
    return aggregator.aggregateMean(global, ((FitResults.Sum) results).meanDelta());
  }

  /** This round's fit sample, when federated evaluation is on. */
  @Override
  public List<SiteInstruction> configureEvaluate(
      int round, Weights weights, List<String> available) {
    if (!federatedEvaluation) {
      return List.of();
    }
    RoundConfig config = roundConfig(round);
    return lastSample.stream()
        .filter(available::contains)
        .map(id -> new SiteInstruction(id, config))
        .toList();
  }

  /** The sum of the sites' confusion matrices and their example-weighted loss. */
  @Override
  public Optional<Metrics> aggregateEvaluate(
      int round, List<ClientEvaluation> results, List<SiteFailure> failures) {
    ConfusionMatrix total = null;
    double lossSum = 0;
    long n = 0;
    for (ClientEvaluation e : results) {
      total = total == null ? e.confusion() : total.plus(e.confusion());
      lossSum += e.loss() * e.numExamples();
      n += e.numExamples();
    }
    return total == null || n == 0 ? Optional.empty() : Optional.of(Metrics.of(total, lossSum / n));
  }

  @Override
  public boolean aggregatesSums() {
    return aggregator.aggregatesMeans();
  }

  @Override
  public boolean keepsState() {
    return aggregator.keepsState();
  }

  @Override
  public StrategyState state() {
    return aggregator.state();
  }

  @Override
  public void restore(StrategyState state) {
    aggregator.restore(state);
  }

  @Override
  public Map<String, String> parameters() {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("aggregator", aggregator.toString());
    p.put("sampling", sampling.toString());
    p.put("training.epochs", String.valueOf(training.epochs()));
    p.put("training.batchSize", String.valueOf(training.batchSize()));
    p.put("training.learningRate", String.valueOf(training.learningRate()));
    p.put("training.proximalMu", String.valueOf(training.proximalMu()));
    p.put("learningRateDecay", String.valueOf(learningRateDecay));
    p.put("updateEncoding", updateEncoding.toString());
    p.put("seed", String.valueOf(seed));
    return p;
  }

  @Override
  public String toString() {
    return "StandardStrategy" + parameters();
  }

  /** Builds a {@link StandardStrategy}; {@link #build()} checks the values. */
  public static final class Builder {
    private Aggregator aggregator = new FedAvg();
    private Sampling sampling = Sampling.all();
    private LocalTraining training = new LocalTraining(1, 32, 0.01, 0, 0);
    private double learningRateDecay = 1;
    private UpdateEncoding updateEncoding = UpdateEncoding.FULL;
    private boolean federatedEvaluation;
    private long seed = 42;

    private Builder() {}

    /**
     * How updates become the next global weights (default {@link FedAvg}).
     *
     * @param value the aggregator
     * @return this builder
     */
    public Builder aggregator(Aggregator value) {
      this.aggregator = Objects.requireNonNull(value, "aggregator");
      return this;
    }

    /**
     * How the round's sites are picked (default all).
     *
     * @param value the sampling
     * @return this builder
     */
    public Builder sampling(Sampling value) {
      this.sampling = Objects.requireNonNull(value, "sampling");
      return this;
    }

    /**
     * How each site trains in round 1; the learning rate then decays by round and the seed is the
     * strategy's, per round.
     *
     * @param value round 1's local training
     * @return this builder
     */
    public Builder localTraining(LocalTraining value) {
      this.training = Objects.requireNonNull(value, "localTraining");
      return this;
    }

    /**
     * Multiplies the sites' learning rate by {@code factor} after every round (default 1).
     *
     * @param factor the decay factor, in (0, 1]
     * @return this builder
     */
    public Builder learningRateDecay(double factor) {
      this.learningRateDecay = factor;
      return this;
    }

    /**
     * How sites send their updates back (default {@link UpdateEncoding#FULL}).
     *
     * @param value the update encoding
     * @return this builder
     */
    public Builder updateEncoding(UpdateEncoding value) {
      this.updateEncoding = Objects.requireNonNull(value, "updateEncoding");
      return this;
    }

    /**
     * Whether the round's sites also evaluate the new weights on their held-out data.
     *
     * @param on whether sites evaluate
     * @return this builder
     */
    public Builder federatedEvaluation(boolean on) {
      this.federatedEvaluation = on;
      return this;
    }

    /**
     * Seed of sampling and of the sites' per-round seeds (default 42).
     *
     * @param value the seed
     * @return this builder
     */
    public Builder seed(long value) {
      this.seed = value;
      return this;
    }

    /**
     * The strategy, its values checked.
     *
     * @return the strategy
     * @throws IllegalArgumentException when the learning-rate decay is not in (0, 1]
     */
    public StandardStrategy build() {
      Require.inUnitInterval("learningRateDecay", learningRateDecay);
      return new StandardStrategy(this);
    }
  }
}
