package io.mnistfl.fl.aggregate;

import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.model.Weights;
import java.util.List;

/** Federated averaging (McMahan et al. 2017): the example-weighted mean of the clients' weights. */
public final class FedAvg implements Aggregator {

  @Override
  public Weights aggregate(Weights global, List<ClientUpdate> updates) {
    return WeightMath.withValues(global, WeightMath.weightedAverage(global, updates));
  }

  @Override
  public boolean aggregatesMeans() {
    return true;
  }

  /** {@code global + meanDelta}. */
  @Override
  public Weights aggregateMean(Weights global, Weights meanDelta) {
    return WeightMath.plus(global, meanDelta);
  }

  @Override
  public String toString() {
    return "FedAvg";
  }
}
