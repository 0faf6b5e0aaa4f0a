package io.mnistfl.fl.checkpoint;

import io.mnistfl.fl.FederationHistory;
import io.mnistfl.train.Provenance;
import java.util.Objects;

/**
 * Everything a federation needs to go on after a stop or a crash: its rounds, global weights and
 * strategy state, and the provenance a resumed run is compared with.
 *
 * @param provenance the run's settings, sites and versions when it was saved
 * @param history the rounds so far, the global weights after the last and the strategy's state
 */
public record Checkpoint(Provenance provenance, FederationHistory history) {

  /**
   * Checks for presence.
   *
   * @param provenance the run's settings, sites and versions
   * @param history the rounds so far, the global weights and the strategy's state
   */
  public Checkpoint {
    Objects.requireNonNull(provenance, "provenance");
    Objects.requireNonNull(history, "history");
  }

  /**
   * {@code checkpoint of round N}.
   *
   * @return the name
   */
  public String name() {
    return "checkpoint of round " + history.rounds().size();
  }
}
