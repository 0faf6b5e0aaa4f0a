package io.mnistfl.fl;

/** Progress callbacks of a {@link Federation}; all default to nothing. */
public interface FederationListener {
  FederationListener NONE = new FederationListener() {};

  default void roundStarted(int round, int sampled) {}

  default void clientFinished(int round, int done, int sampled) {}

  default void roundFinished(RoundResult result) {}
}
