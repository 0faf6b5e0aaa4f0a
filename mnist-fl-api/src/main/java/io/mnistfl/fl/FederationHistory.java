package io.mnistfl.fl;

import io.mnistfl.model.Weights;
import java.util.List;
import java.util.OptionalInt;

/**
 * A federation's full record.
 *
 * @param rounds every round's result
 * @param roundsToTarget the first round whose test accuracy reached the target, if any
 * @param totalSeconds wall time of all rounds
 * @param finalWeights the global weights after the last round
 * @param aggregatorState the aggregator's {@link Aggregator#state() state} after the last round,
 *     for {@link Federation#resume}; empty for an aggregator that keeps none
 */
public record FederationHistory(List<RoundResult> rounds, OptionalInt roundsToTarget,
    double totalSeconds, Weights finalWeights, List<double[]> aggregatorState) {

  public FederationHistory {
    rounds = List.copyOf(rounds);
    aggregatorState = List.copyOf(aggregatorState);
  }

  /** A history without aggregator state. */
  public FederationHistory(List<RoundResult> rounds, OptionalInt roundsToTarget,
      double totalSeconds, Weights finalWeights) {
    this(rounds, roundsToTarget, totalSeconds, finalWeights, List.of());
  }
}
