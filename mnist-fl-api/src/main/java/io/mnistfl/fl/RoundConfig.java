package io.mnistfl.fl;

/**
 * What the server asks of each client in a round.
 *
 * @param round 1-based round number
 * @param localEpochs E: passes over the client's data
 * @param batchSize B: local batch size
 * @param learningRate local learning rate
 * @param proximalMu FedProx's μ (0 = plain FedAvg local training)
 * @param seed seed for the client's shuffling (and rounding) this round
 * @param updateEncoding how the client sends its update back
 */
public record RoundConfig(int round, int localEpochs, int batchSize, double learningRate,
    double proximalMu, long seed, UpdateEncoding updateEncoding) {

  /** A config asking for {@link UpdateEncoding#FULL full} updates. */
  public RoundConfig(int round, int localEpochs, int batchSize, double learningRate,
      double proximalMu, long seed) {
    this(round, localEpochs, batchSize, learningRate, proximalMu, seed, UpdateEncoding.FULL);
  }

  public RoundConfig {
    Require.atLeastOne("round", round);
    Require.atLeastOne("localEpochs", localEpochs);
    Require.atLeastOne("batchSize", batchSize);
    Require.positive("learningRate", learningRate);
    Require.nonNegative("proximalMu", proximalMu);
    java.util.Objects.requireNonNull(updateEncoding, "updateEncoding");
  }
}
