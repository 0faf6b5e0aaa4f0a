package io.mnistfl.fl;

import io.mnistfl.model.Weights;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * A federation's record, and all it needs to go on.
 *
 * @param rounds every round's result
 * @param roundsToTarget the first round whose accuracy reached the target, if any
 * @param totalSeconds wall time of all rounds
 * @param finalWeights the global weights after the last round
 * @param strategyState the strategy's {@link Stateful#state() state} after the last round
 */
public record FederationHistory(
    List<RoundResult> rounds,
    OptionalInt roundsToTarget,
    double totalSeconds,
    Weights finalWeights,
    StrategyState strategyState) {

  /**
   * Copies the lists.
   *
   * @param rounds every round's result
   * @param roundsToTarget the first round whose accuracy reached the target, if any
   * @param totalSeconds wall time of all rounds
   * @param finalWeights the global weights after the last round
   * @param strategyState the strategy's state after the last round
   */
  public FederationHistory {
    rounds = List.copyOf(rounds);
    Objects.requireNonNull(strategyState, "strategyState");
  }

  /**
   * Nothing run yet, from {@code initial} weights.
   *
   * @param initial the global weights to start from
   * @return an empty history
   */
  public static FederationHistory start(Weights initial) {
    return new FederationHistory(List.of(), OptionalInt.empty(), 0, initial, StrategyState.empty());
  }
}
