package io.mnistfl.train;

/**
 * What one training epoch achieved.
 *
 * @param epoch 1-based epoch number
 * @param epochs epochs planned in this run
 * @param seconds wall time of the epoch's training steps
 * @param loss mean training loss over the epoch's steps
 * @param accuracy training accuracy over the epoch's steps (dropout and augmentation active)
 * @param validationLoss loss on the validation set after the epoch, NaN without one
 * @param validationAccuracy accuracy on the validation set after the epoch, NaN without one
 * @param learningRate the learning rate used during the epoch
 */
public record EpochResult(
    int epoch,
    int epochs,
    double seconds,
    double loss,
    double accuracy,
    double validationLoss,
    double validationAccuracy,
    double learningRate) {

  /**
   * True when the epoch was validated.
   *
   * @return whether the validation accuracy is a number, not NaN
   */
  public boolean hasValidation() {
    return !Double.isNaN(validationAccuracy);
  }

  /**
   * Keras' summary line, e.g. {@code epoch 3/20 - 14.2s - loss 0.0312 - accuracy 0.9903 - …}.
   *
   * @return the line
   */
  public String format() {
    String line =
        String.format(
            "epoch %d/%d - %.1fs - loss %.4f - accuracy %.4f",
            epoch, epochs, seconds, loss, accuracy);
    if (hasValidation()) {
      line +=
          String.format(" - val_loss %.4f - val_accuracy %.4f", validationLoss, validationAccuracy);
    }
    return line;
  }
}
