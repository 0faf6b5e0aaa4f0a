package io.mnistfl.fl;

import java.util.OptionalDouble;

/**
 * How a federation runs. Start from {@link #defaults()} and change what you need with the
 * {@code with…} methods.
 *
 * @param rounds maximum rounds
 * @param fraction C: share of the clients sampled per round
 * @param minClients sample at least this many (or all, if fewer exist)
 * @param localEpochs E
 * @param batchSize B
 * @param learningRate client learning rate in round 1
 * @param learningRateDecay factor applied to the client learning rate each round: round r uses
 *     {@code learningRate · learningRateDecay^(r−1)} (1 = constant)
 * @param proximalMu FedProx μ (0 = FedAvg)
 * @param targetAccuracy stop after the first round whose test accuracy reaches it
 * @param federatedEvaluation also evaluate on the sampled clients' held-out data each round
 * @param seed seed of client sampling and client shuffling
 */
public record FederationSettings(int rounds, double fraction, int minClients, int localEpochs,
    int batchSize, double learningRate, double learningRateDecay, double proximalMu,
    OptionalDouble targetAccuracy, boolean federatedEvaluation, long seed) {

  public FederationSettings {
    if (rounds < 1 || minClients < 1 || localEpochs < 1 || batchSize < 1) {
      throw new IllegalArgumentException("rounds, minClients, localEpochs and batchSize must be"
          + " >= 1");
    }
    if (!(fraction > 0 && fraction <= 1)) {
      throw new IllegalArgumentException("fraction must be in (0, 1], was " + fraction);
    }
    if (!(learningRateDecay > 0 && learningRateDecay <= 1)) {
      throw new IllegalArgumentException("learningRateDecay must be in (0, 1], was "
          + learningRateDecay);
    }
    // RoundConfig validates learning rate and mu.
    new RoundConfig(1, localEpochs, batchSize, learningRate, proximalMu, seed);
  }

  /** 20 rounds, all clients, E = 1, B = 32, constant lr 0.01, FedAvg, no target, seed 42. */
  public static FederationSettings defaults() {
    return new FederationSettings(20, 1.0, 1, 1, 32, 0.01, 1, 0, OptionalDouble.empty(), false,
        42);
  }

  public FederationSettings withRounds(int v) {
    return new FederationSettings(v, fraction, minClients, localEpochs, batchSize, learningRate,
        learningRateDecay, proximalMu, targetAccuracy, federatedEvaluation, seed);
  }

  public FederationSettings withSampling(double c, int min) {
    return new FederationSettings(rounds, c, min, localEpochs, batchSize, learningRate,
        learningRateDecay, proximalMu, targetAccuracy, federatedEvaluation, seed);
  }

  public FederationSettings withLocalTraining(int epochs, int batch, double lr, double mu) {
    return new FederationSettings(rounds, fraction, minClients, epochs, batch, lr,
        learningRateDecay, mu, targetAccuracy, federatedEvaluation, seed);
  }

  /** Multiplies the client learning rate by {@code factor} after every round. */
  public FederationSettings withLearningRateDecay(double factor) {
    return new FederationSettings(rounds, fraction, minClients, localEpochs, batchSize,
        learningRate, factor, proximalMu, targetAccuracy, federatedEvaluation, seed);
  }

  public FederationSettings withTarget(double accuracy) {
    return new FederationSettings(rounds, fraction, minClients, localEpochs, batchSize,
        learningRate, learningRateDecay, proximalMu, OptionalDouble.of(accuracy),
        federatedEvaluation, seed);
  }

  public FederationSettings withFederatedEvaluation(boolean on) {
    return new FederationSettings(rounds, fraction, minClients, localEpochs, batchSize,
        learningRate, learningRateDecay, proximalMu, targetAccuracy, on, seed);
  }

  public FederationSettings withSeed(long v) {
    return new FederationSettings(rounds, fraction, minClients, localEpochs, batchSize,
        learningRate, learningRateDecay, proximalMu, targetAccuracy, federatedEvaluation, v);
  }

  /** The config sent to clients in {@code round}. */
  RoundConfig roundConfig(int round) {
    return new RoundConfig(round, localEpochs, batchSize,
        learningRate * Math.pow(learningRateDecay, round - 1), proximalMu,
        seed * 1_000_003L + round);
  }
}
