package io.mnistfl.train;

import io.mnistfl.metrics.Metrics;
import java.util.List;
import java.util.Optional;

/**
 * What is saved with a model: its {@link Provenance} and how well training went.
 *
 * @param provenance the spec, settings, data, sites and versions behind the model
 * @param epochs per-epoch results of central training; empty for a federated model, whose rounds
 *     are in its checkpoints
 * @param test metrics on the test set, if measured
 * @param wallSeconds total training wall time
 */
public record TrainingRecord(
    Provenance provenance, List<EpochResult> epochs, Optional<Metrics> test, double wallSeconds) {

  /**
   * Copies the list; a record without provenance is refused.
   *
   * @param provenance the spec, settings, data, sites and versions behind the model
   * @param epochs per-epoch results of central training; null means none
   * @param test metrics on the test set, if measured; null means none
   * @param wallSeconds total training wall time
   */
  public TrainingRecord {
    java.util.Objects.requireNonNull(provenance, "provenance");
    epochs = epochs == null ? List.of() : List.copyOf(epochs);
    test = test == null ? Optional.empty() : test;
  }
}
