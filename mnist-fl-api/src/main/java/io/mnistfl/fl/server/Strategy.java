package io.mnistfl.fl.server;

import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.SiteFailure;
import io.mnistfl.fl.Stateful;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.Weights;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The server's decisions in each round, shaped like Flower's {@code Strategy}: which sites train
 * and what each is asked ({@link #configureFit}), how their results become the next global weights
 * ({@link #aggregateFit}, which also sees the round's failures), and the same two for federated
 * evaluation. {@link Federation} runs the rounds and moves the bytes; a strategy never touches a
 * transport. {@link StandardStrategy} covers the FedAvg family; {@link
 * io.mnistfl.fl.privacy.DpFedAvg} wraps a strategy with differential privacy.
 */
public interface Strategy extends Stateful {

  /**
   * The sites that train in {@code round} and what each is asked.
   *
   * @param global the weights they start from
   * @param available the sites that can be reached now, sorted
   * @param round the 1-based round
   * @return one instruction per site that trains
   */
  List<SiteInstruction> configureFit(int round, Weights global, List<String> available);

  /**
   * The next global weights from what the round's training returned. Called every round, also when
   * no update arrived (then, unless the strategy must act anyway, {@code global}).
   *
   * @param round the 1-based round
   * @param global the weights the round started from
   * @param results the updates, or their sum, and the sites left out
   * @return the next global weights
   */
  Weights aggregateFit(int round, Weights global, FitResults results);

  /**
   * The sites that evaluate {@code weights} on their own held-out data; none by default.
   *
   * @param round the 1-based round
   * @param weights the new global weights
   * @param available the sites that can be reached now, sorted
   * @return one instruction per site that evaluates
   */
  default List<SiteInstruction> configureEvaluate(
      int round, Weights weights, List<String> available) {
    return List.of();
  }

  /**
   * The federated metrics from the sites' checked evaluations, if any.
   *
   * @param failures the sites whose evaluation was lost or refused
   * @param round the 1-based round
   * @param results the sites' checked evaluations
   * @return the aggregated metrics, or empty when there are none
   */
  default Optional<Metrics> aggregateEvaluate(
      int round, List<ClientEvaluation> results, List<SiteFailure> failures) {
    return Optional.empty();
  }

  /**
   * Whether {@link #aggregateFit} accepts a {@link FitResults.Sum}: true for strategies that only
   * need the mean update, which secure aggregation and differential privacy require.
   *
   * @return whether sums are accepted; false by default
   */
  default boolean aggregatesSums() {
    return false;
  }

  /**
   * Every parameter that determines the result, by name, for the run's provenance: a resumed run
   * must have the same.
   *
   * @return the parameters
   */
  Map<String, String> parameters();
}
