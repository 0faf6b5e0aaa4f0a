package io.mnistfl.train;

import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * Options of one call to {@link Model#fit}: how many epochs, and overrides of the spec's batch size
 * and learning rate (a federated round sets these), an optional proximal term and the seed of this
 * run's shuffling.
 *
 * @param epochs passes over the training data
 * @param batchSize overrides {@code ModelSpec.batchSize()} when present
 * @param learningRate overrides the optimizer's learning rate when present (decay still applies)
 * @param proximalMu FedProx's μ: adds {@code μ/2·‖w − w₀‖²} to the loss, {@code w₀} being the
 *     weights at the start of this call; 0 disables it
 * @param seed seed of this call's shuffling, dropout and augmentation
 */
public record FitOptions(
    int epochs,
    OptionalInt batchSize,
    OptionalDouble learningRate,
    double proximalMu,
    long seed) {

  public FitOptions {
    if (epochs < 1) {
      throw new IllegalArgumentException("epochs must be >= 1, was " + epochs);
    }
    if (batchSize.isPresent() && batchSize.getAsInt() < 1) {
      throw new IllegalArgumentException("batchSize must be >= 1, was " + batchSize.getAsInt());
    }
    if (learningRate.isPresent() && !(learningRate.getAsDouble() > 0)) {
      throw new IllegalArgumentException(
          "learningRate must be > 0, was " + learningRate.getAsDouble());
    }
    if (!(proximalMu >= 0)) {
      throw new IllegalArgumentException("proximalMu must be >= 0, was " + proximalMu);
    }
  }

  /** {@code epochs} epochs with the spec's batch size and learning rate, seed 0. */
  public static FitOptions epochs(int epochs) {
    return new FitOptions(epochs, OptionalInt.empty(), OptionalDouble.empty(), 0, 0);
  }

  public FitOptions withBatchSize(int value) {
    return new FitOptions(epochs, OptionalInt.of(value), learningRate, proximalMu, seed);
  }

  public FitOptions withLearningRate(double value) {
    return new FitOptions(epochs, batchSize, OptionalDouble.of(value), proximalMu, seed);
  }

  public FitOptions withProximalMu(double value) {
    return new FitOptions(epochs, batchSize, learningRate, value, seed);
  }

  public FitOptions withSeed(long value) {
    return new FitOptions(epochs, batchSize, learningRate, proximalMu, value);
  }
}
