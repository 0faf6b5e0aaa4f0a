package io.mnistfl.train;

import io.mnistfl.internal.Require;
import io.mnistfl.model.ModelSpec;

/**
 * How one call of {@link Model#fit} trains: the one type for local-training settings, used by
 * centralized training and sent to every site in each federated round. An immutable value; start
 * from {@link #of(ModelSpec)} and change what you need with the {@code with…} methods, each of
 * which checks its value and names the bad one.
 *
 * @param epochs passes over the training data, {@code >= 1}
 * @param batchSize examples per step, {@code >= 1}
 * @param learningRate the optimizer's learning rate in the first epoch, {@code > 0} (the spec's
 *     per-epoch decay still applies)
 * @param proximalMu FedProx's μ: adds {@code μ/2·‖w − w₀‖²} to the loss, {@code w₀} being the
 *     weights at the start of the call; 0 disables it
 * @param seed seed of the call's shuffling, dropout and augmentation
 */
public record LocalTraining(
    int epochs, int batchSize, double learningRate, double proximalMu, long seed) {

  /**
   * Checks every setting.
   *
   * @param epochs passes over the training data, {@code >= 1}
   * @param batchSize examples per step, {@code >= 1}
   * @param learningRate the first epoch's learning rate, {@code > 0}
   * @param proximalMu FedProx's μ, {@code >= 0}
   * @param seed seed of the call's shuffling, dropout and augmentation
   */
  public LocalTraining {
    Require.atLeastOne("epochs", epochs);
    Require.atLeastOne("batchSize", batchSize);
    Require.positive("learningRate", learningRate);
    Require.nonNegative("proximalMu", proximalMu);
  }

  /**
   * One epoch with the spec's batch size and learning rate, no proximal term, seed 0.
   *
   * @param spec the model's spec
   * @return the settings
   */
  public static LocalTraining of(ModelSpec spec) {
    return new LocalTraining(1, spec.batchSize(), spec.optimizer().learningRate(), 0, 0);
  }

  /**
   * These settings with {@code value} epochs.
   *
   * @param value passes over the training data, {@code >= 1}
   * @return the new settings
   */
  public LocalTraining withEpochs(int value) {
    return new LocalTraining(value, batchSize, learningRate, proximalMu, seed);
  }

  /**
   * These settings with batch size {@code value}.
   *
   * @param value examples per step, {@code >= 1}
   * @return the new settings
   */
  public LocalTraining withBatchSize(int value) {
    return new LocalTraining(epochs, value, learningRate, proximalMu, seed);
  }

  /**
   * These settings with learning rate {@code value}.
   *
   * @param value the first epoch's learning rate, {@code > 0}
   * @return the new settings
   */
  public LocalTraining withLearningRate(double value) {
    return new LocalTraining(epochs, batchSize, value, proximalMu, seed);
  }

  /**
   * These settings with FedProx's μ set to {@code value}.
   *
   * @param value FedProx's μ, {@code >= 0}; 0 disables the proximal term
   * @return the new settings
   */
  public LocalTraining withProximalMu(double value) {
    return new LocalTraining(epochs, batchSize, learningRate, value, seed);
  }

  /**
   * These settings with seed {@code value}.
   *
   * @param value the seed
   * @return the new settings
   */
  public LocalTraining withSeed(long value) {
    return new LocalTraining(epochs, batchSize, learningRate, proximalMu, value);
  }
}
