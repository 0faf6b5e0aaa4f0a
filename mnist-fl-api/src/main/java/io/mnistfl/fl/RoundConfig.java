package io.mnistfl.fl;

/**
 * What the server asks of each client in a round.
 *
 * @param round 1-based round number
 * @param localEpochs E: passes over the client's data
 * @param batchSize B: local batch size
 * @param learningRate local learning rate
 * @param proximalMu FedProx's μ (0 = plain FedAvg local training)
 * @param seed seed for the client's shuffling this round
 */
public record RoundConfig(
    int round, int localEpochs, int batchSize, double learningRate, double proximalMu, long seed) {

  public RoundConfig {
    if (round < 1 || localEpochs < 1 || batchSize < 1) {
      throw new IllegalArgumentException("round, localEpochs and batchSize must be >= 1, were "
          + round + ", " + localEpochs + ", " + batchSize);
    }
    if (!(learningRate > 0) || !(proximalMu >= 0)) {
      throw new IllegalArgumentException("learning rate must be > 0 and mu >= 0, were "
          + learningRate + ", " + proximalMu);
    }
  }
}
