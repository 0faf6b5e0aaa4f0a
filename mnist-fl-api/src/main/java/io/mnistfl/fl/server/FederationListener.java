package io.mnistfl.fl.server;

import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.RoundResult;

/** Progress callbacks of a {@link Federation}, on its thread; all default to nothing. */
public interface FederationListener {
  /** Listens to nothing. */
  FederationListener NONE = new FederationListener() {};

  /**
   * A round begins with {@code sampled} sites.
   *
   * @param round the 1-based round
   * @param sampled the number of sites sampled
   */
  default void roundStarted(int round, int sampled) {}

  /**
   * {@code done} of a stage's {@code total} calls have ended.
   *
   * @param round the 1-based round
   * @param stage the stage's name, e.g. {@code fit}
   * @param done the calls ended so far
   * @param total the stage's calls
   */
  default void siteAnswered(int round, String stage, int done, int total) {}

  /**
   * A round ended.
   *
   * @param result the round's outcome
   */
  default void roundFinished(RoundResult result) {}

  /**
   * After every round, the history so far with the new global weights (after any checkpoint is
   * saved): e.g. to keep an up-to-date model where other tools read it.
   *
   * @param soFar every round so far and the new global weights
   */
  default void checkpoint(FederationHistory soFar) {}

  /**
   * Something the operator should know that does not stop the run.
   *
   * @param message one line for the operator
   */
  default void warning(String message) {}
}
