package io.mnistfl.fl;

/** Progress callbacks of a {@link Federation}; all default to nothing. */
public interface FederationListener {
  FederationListener NONE = new FederationListener() {};

  default void roundStarted(int round, int sampled) {}

  default void clientFinished(int round, int done, int sampled) {}

  default void roundFinished(RoundResult result) {}

  /**
   * After every round, the history so far with the new global weights: what {@link
   * Federation#resume} needs to go on after a crash or a stop.
   */
  default void checkpoint(FederationHistory soFar) {}
}
