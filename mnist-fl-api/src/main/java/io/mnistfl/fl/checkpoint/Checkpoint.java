package io.mnistfl.fl.checkpoint;

import io.mnistfl.fl.FederationHistory;
import io.mnistfl.train.Provenance;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Objects;

/**
 * Everything a federation needs to go on after a stop or a crash: its rounds, global weights and
 * strategy state, the provenance a resumed run is compared with, and the id of the run it belongs
 * to, so that a checkpoint of another run is not taken up by mistake.
 *
 * @param provenance the run's settings, sites and versions when it was saved
 * @param history the rounds so far, the global weights after the last and the strategy's state
 * @param runId the run's id: 32 hex digits drawn when the run started, kept on resume; empty for a
 *     checkpoint of format 1, which recorded none
 */
public record Checkpoint(Provenance provenance, FederationHistory history, String runId) {

  /**
   * Checks for presence and the run id's form.
   *
   * @param provenance the run's settings, sites and versions
   * @param history the rounds so far, the global weights and the strategy's state
   * @param runId the run's id, or empty for a format-1 checkpoint
   */
  public Checkpoint {
    Objects.requireNonNull(provenance, "provenance");
    Objects.requireNonNull(history, "history");
    if (!runId.isEmpty() && !runId.matches("[0-9a-f]{32}")) {
      throw new IllegalArgumentException("a run id is 32 lower-case hex digits, was " + runId);
    }
  }

  /**
   * A checkpoint of a new run, with a fresh id.
   *
   * @param provenance the run's settings, sites and versions
   * @param history the rounds so far, the global weights and the strategy's state
   */
  public Checkpoint(Provenance provenance, FederationHistory history) {
    this(provenance, history, newRunId());
  }

  /**
   * A fresh run id: 128 random bits in hex.
   *
   * @return the id
   */
  public static String newRunId() {
    byte[] id = new byte[16];
    new SecureRandom().nextBytes(id);
    return HexFormat.of().formatHex(id);
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
