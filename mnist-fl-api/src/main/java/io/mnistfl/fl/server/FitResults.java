package io.mnistfl.fl.server;

import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.SiteFailure;
import io.mnistfl.fl.aggregate.WeightMath;
import io.mnistfl.model.Weights;
import java.util.List;

/**
 * What came back from a round's training, as a {@link Strategy} aggregates it: each site's update,
 * or, where the server may only see their total (secure aggregation, differential privacy), the sum
 * of the sites' deltas from the global weights.
 */
public sealed interface FitResults {

  /**
   * The sites left out of the round's training, with their reasons.
   *
   * @return the sites left out
   */
  List<SiteFailure> failures();

  /**
   * Each site's update, in the order the sites were instructed.
   *
   * @param updates the checked updates, each shaped like the global weights
   * @param failures the sites left out
   */
  record Updates(List<ClientUpdate> updates, List<SiteFailure> failures) implements FitResults {
    /**
     * Copies the lists.
     *
     * @param updates the checked updates
     * @param failures the sites left out
     */
    public Updates {
      updates = List.copyOf(updates);
      failures = List.copyOf(failures);
    }
  }

  /**
   * The sum of the sites' weighted deltas (new weights − global), and the sum of their weights: the
   * mean delta is {@code deltaSum / totalWeight}. No single site's update can be recovered from it.
   *
   * @param deltaSum Σ wᵢ·Δᵢ, shaped like the global weights
   * @param totalWeight Σ wᵢ, {@code > 0}: example counts, or 1 per site, or DP-FedAvg's fixed
   *     denominator
   * @param contributors how many sites the sum holds
   * @param failures the sites left out
   */
  record Sum(Weights deltaSum, double totalWeight, int contributors, List<SiteFailure> failures)
      implements FitResults {
    /**
     * Checks the weight and copies the list.
     *
     * @param deltaSum the sum of the weighted deltas
     * @param totalWeight the sum of the weights, {@code > 0}
     * @param contributors how many sites the sum holds
     * @param failures the sites left out
     * @throws IllegalArgumentException when {@code totalWeight} is not positive
     */
    public Sum {
      if (!(totalWeight > 0)) {
        throw new IllegalArgumentException("totalWeight must be > 0, was " + totalWeight);
      }
      failures = List.copyOf(failures);
    }

    /**
     * {@code deltaSum / totalWeight}.
     *
     * @return the example-weighted mean delta
     */
    public Weights meanDelta() {
      return WeightMath.scaled(deltaSum, 1 / totalWeight);
    }
  }
}
