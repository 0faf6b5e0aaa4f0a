package io.mnistfl.fl;

/** Progress callbacks of a {@link Federation}, on its thread; all default to nothing. */
public interface FederationListener {
  /** Listens to nothing. */
  FederationListener NONE = new FederationListener() {};

  /** A round begins with {@code sampled} sites. */
  default void roundStarted(int round, int sampled) {}

  /** {@code done} of a stage's {@code total} calls have ended. */
  default void siteAnswered(int round, String stage, int done, int total) {}

  /** A round ended. */
  default void roundFinished(RoundResult result) {}

  /**
   * After every round, the history so far with the new global weights (after any checkpoint is
   * saved): e.g. to keep an up-to-date model where other tools read it.
   */
  default void checkpoint(FederationHistory soFar) {}

  /** Something the operator should know that does not stop the run. */
  default void warning(String message) {}
}
