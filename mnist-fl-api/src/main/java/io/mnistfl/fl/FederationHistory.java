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
 */
public record FederationHistory(List<RoundResult> rounds, OptionalInt roundsToTarget,
    double totalSeconds, Weights finalWeights) {

  public FederationHistory {
    rounds = List.copyOf(rounds);
  }
}
