package io.mnistfl.fl;

import io.mnistfl.model.Weights;
import java.util.List;

/** Federated averaging (McMahan et al. 2017): the example-weighted mean of the clients' weights. */
public final class FedAvg implements Aggregator {

  @Override
  public Weights aggregate(Weights global, List<ClientUpdate> updates) {
    return WeightMath.withValues(global, WeightMath.weightedAverage(global, updates));
  }

  @Override
  public String toString() {
    return "FedAvg";
  }
}
