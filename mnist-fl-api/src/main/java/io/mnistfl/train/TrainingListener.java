package io.mnistfl.train;

/** Callbacks from a training run, for progress display. All methods default to doing nothing. */
public interface TrainingListener {

  /** Does nothing. */
  TrainingListener NONE = new TrainingListener() {};

  /**
   * Before the first step of an epoch of {@code steps} steps.
   *
   * @param epoch the 1-based epoch
   * @param epochs the number of epochs
   * @param steps the epoch's steps
   */
  default void epochStarted(int epoch, int epochs, int steps) {}

  /**
   * After each training step, with the running mean loss and accuracy of the epoch.
   *
   * @param step the 1-based step
   * @param steps the epoch's steps
   * @param meanLoss the epoch's mean loss so far
   * @param meanAccuracy the epoch's accuracy so far
   */
  default void stepFinished(int step, int steps, double meanLoss, double meanAccuracy) {}

  /**
   * After an epoch and its validation.
   *
   * @param result the epoch's result
   */
  default void epochFinished(EpochResult result) {}
}
