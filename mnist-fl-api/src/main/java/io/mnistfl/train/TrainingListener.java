package io.mnistfl.train;

/** Callbacks from a training run, for progress display. All methods default to doing nothing. */
public interface TrainingListener {

  /** Does nothing. */
  TrainingListener NONE = new TrainingListener() {};

  /** Before the first step of an epoch of {@code steps} steps. */
  default void epochStarted(int epoch, int epochs, int steps) {}

  /** After each training step, with the running mean loss and accuracy of the epoch. */
  default void stepFinished(int step, int steps, double meanLoss, double meanAccuracy) {}

  /** After an epoch and its validation. */
  default void epochFinished(EpochResult result) {}
}
