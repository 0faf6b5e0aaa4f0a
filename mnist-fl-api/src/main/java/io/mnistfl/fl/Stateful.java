package io.mnistfl.fl;

/**
 * Something on the server that may carry state from round to round (a strategy, an aggregator's
 * optimizer moments), saved with every checkpoint so that a resumed run equals an uninterrupted
 * one. See {@link StrategyState} for the contract of {@link #keepsState()}, {@link #state()} and
 * {@link #restore}; the defaults describe something that keeps none.
 */
public interface Stateful {
  /**
   * Whether state is carried from round to round.
   *
   * @return whether state is carried; false by default
   */
  default boolean keepsState() {
    return false;
  }

  /**
   * A copy of the state carried into the next round.
   *
   * @return the state; empty by default
   */
  default StrategyState state() {
    return StrategyState.empty();
  }

  /**
   * Takes up a saved {@link #state()}; an empty one starts afresh.
   *
   * @param state the saved state
   * @throws IllegalArgumentException when it is not a state this one saves
   */
  default void restore(StrategyState state) {
    if (!state.isEmpty()) {
      throw new IllegalArgumentException(this + " keeps no state, but was given " + state);
    }
  }
}
