package io.mnistfl.fl;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.function.Consumer;

/**
 * How a federation runs: an immutable value. Start from {@link #defaults()} and change what you
 * need with the {@code with…} methods; each checks its values and names the bad one.
 */
public final class FederationSettings {
  private final Values v;

  private FederationSettings(Values v) {
    Require.atLeastOne("rounds", v.rounds);
    Require.atLeastOne("minClients", v.minClients);
    Require.inUnitInterval("fraction", v.fraction);
    Require.inUnitInterval("learningRateDecay", v.learningRateDecay);
    v.targetAccuracy.ifPresent(a -> Require.inUnitInterval("targetAccuracy", a));
    Require.atLeastOne("parallelClients", v.parallelClients);
    v.roundTimeout.ifPresent(t -> Require.positive("roundTimeout", t));
    // RoundConfig checks local epochs, batch size, learning rate and mu.
    new RoundConfig(1, v.localEpochs, v.batchSize, v.learningRate, v.proximalMu, v.seed);
    this.v = v;
  }

  /**
   * 20 rounds, all clients, E = 1, B = 32, constant lr 0.01, no target, one client called at a
   * time, no timeout, seed 42.
   */
  public static FederationSettings defaults() {
    return new FederationSettings(new Values());
  }

  /** Stop after at most {@code count} rounds. */
  public FederationSettings withRounds(int count) {
    return with(x -> x.rounds = count);
  }

  /** Sample a share {@code c} of the clients per round, at least {@code min} (all, if fewer). */
  public FederationSettings withSampling(double c, int min) {
    return with(x -> {
      x.fraction = c;
      x.minClients = min;
      x.poissonSampling = false;
    });
  }

  /**
   * Let each client take part in a round independently with probability {@code q}, so the
   * number sampled varies from round to round and may be 0: the sampling that the privacy
   * accounting of {@link DpFedAvg} ({@link PrivacyAccountant}) assumes.
   */
  public FederationSettings withPoissonSampling(double q) {
    return with(x -> {
      x.fraction = q;
      x.poissonSampling = true;
    });
  }

  /** Local training: E epochs, batch size B, round-1 learning rate, FedProx μ (0 = FedAvg). */
  public FederationSettings withLocalTraining(int epochs, int batch, double lr, double mu) {
    return with(x -> {
      x.localEpochs = epochs;
      x.batchSize = batch;
      x.learningRate = lr;
      x.proximalMu = mu;
    });
  }

  /** Multiplies the client learning rate by {@code factor} after every round. */
  public FederationSettings withLearningRateDecay(double factor) {
    return with(x -> x.learningRateDecay = factor);
  }

  /** Stop after the first round whose test accuracy reaches {@code accuracy}. */
  public FederationSettings withTarget(double accuracy) {
    return with(x -> x.targetAccuracy = OptionalDouble.of(accuracy));
  }

  /** Also evaluate on the sampled clients' held-out data each round. */
  public FederationSettings withFederatedEvaluation(boolean on) {
    return with(x -> x.federatedEvaluation = on);
  }

  /**
   * Calls up to {@code count} sampled clients at once (default 1). Worth it when clients train
   * elsewhere; the {@link Transport} must then accept concurrent calls.
   */
  public FederationSettings withParallelClients(int count) {
    return with(x -> x.parallelClients = count);
  }

  /**
   * Waits at most {@code timeout} for the sampled clients' answers in each phase of a round (fit,
   * then federated evaluation); a client still silent then is left out of the round, and its call
   * is interrupted.
   */
  public FederationSettings withRoundTimeout(Duration timeout) {
    return with(x -> x.roundTimeout = Optional.of(timeout));
  }

  /** How clients send their updates back (default {@link UpdateEncoding#FULL}). */
  public FederationSettings withUpdateEncoding(UpdateEncoding encoding) {
    java.util.Objects.requireNonNull(encoding, "encoding");
    return with(x -> x.updateEncoding = encoding);
  }

  /** Seed of client sampling and client shuffling. */
  public FederationSettings withSeed(long value) {
    return with(x -> x.seed = value);
  }

  /** Maximum rounds. */
  public int rounds() {
    return v.rounds;
  }

  /** C: share of the clients sampled per round; with Poisson sampling, each one's probability. */
  public double fraction() {
    return v.fraction;
  }

  /** Whether each client is sampled independently ({@link #withPoissonSampling}). */
  public boolean poissonSampling() {
    return v.poissonSampling;
  }

  /** Sample at least this many clients (or all, if fewer exist); not with Poisson sampling. */
  public int minClients() {
    return v.minClients;
  }

  /** E: local epochs per round. */
  public int localEpochs() {
    return v.localEpochs;
  }

  /** B: local batch size. */
  public int batchSize() {
    return v.batchSize;
  }

  /** Client learning rate in round 1. */
  public double learningRate() {
    return v.learningRate;
  }

  /** Round r uses {@code learningRate · learningRateDecay^(r−1)} (1 = constant). */
  public double learningRateDecay() {
    return v.learningRateDecay;
  }

  /** FedProx μ (0 = FedAvg). */
  public double proximalMu() {
    return v.proximalMu;
  }

  /** Stop after the first round whose test accuracy reaches this. */
  public OptionalDouble targetAccuracy() {
    return v.targetAccuracy;
  }

  /** Whether each round also evaluates on the sampled clients' held-out data. */
  public boolean federatedEvaluation() {
    return v.federatedEvaluation;
  }

  /** How many sampled clients are called at once. */
  public int parallelClients() {
    return v.parallelClients;
  }

  /** How long each phase of a round waits for the clients; empty = as long as they take. */
  public Optional<Duration> roundTimeout() {
    return v.roundTimeout;
  }

  /** How clients send their updates back. */
  public UpdateEncoding updateEncoding() {
    return v.updateEncoding;
  }

  /** Seed of client sampling and client shuffling. */
  public long seed() {
    return v.seed;
  }

  /** A copy of these settings with {@code change} applied, checked like any other. */
  private FederationSettings with(Consumer<Values> change) {
    Values x = v.copy();
    change.accept(x);
    return new FederationSettings(x);
  }

  /** The config sent to clients in {@code round}. */
  RoundConfig roundConfig(int round) {
    return new RoundConfig(round, v.localEpochs, v.batchSize,
        v.learningRate * Math.pow(v.learningRateDecay, round - 1), v.proximalMu,
        v.seed * 1_000_003L + round, v.updateEncoding);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FederationSettings s && fields().equals(s.fields());
  }

  @Override
  public int hashCode() {
    return fields().hashCode();
  }

  @Override
  public String toString() {
    return "FederationSettings" + fields();
  }

  private List<Object> fields() {
    return List.of(v.rounds, v.fraction, v.minClients, v.poissonSampling, v.localEpochs,
        v.batchSize, v.learningRate, v.learningRateDecay, v.proximalMu, v.targetAccuracy,
        v.federatedEvaluation, v.parallelClients, v.roundTimeout, v.updateEncoding, v.seed);
  }

  /**
   * The settings' fields, starting at the defaults. A {@code with…} method edits a fresh copy
   * before handing it to the constructor; a held instance is never changed.
   */
  private static final class Values implements Cloneable {
    int rounds = 20;
    double fraction = 1.0;
    int minClients = 1;
    boolean poissonSampling = false;
    int localEpochs = 1;
    int batchSize = 32;
    double learningRate = 0.01;
    double learningRateDecay = 1;
    double proximalMu = 0;
    OptionalDouble targetAccuracy = OptionalDouble.empty();
    boolean federatedEvaluation = false;
    int parallelClients = 1;
    Optional<Duration> roundTimeout = Optional.empty();
    UpdateEncoding updateEncoding = UpdateEncoding.FULL;
    long seed = 42;

    Values copy() {
      try {
        return (Values) clone();
      } catch (CloneNotSupportedException e) {
        throw new AssertionError(e);
      }
    }
  }
}
