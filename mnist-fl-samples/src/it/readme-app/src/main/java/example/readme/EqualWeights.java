package example.readme;

import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.aggregate.Aggregator;
import io.mnistfl.fl.aggregate.WeightMath;
import io.mnistfl.model.Weights;
import java.util.List;

/** FedAvg that ignores the sites' example counts: every update weighs the same. */
public final class EqualWeights implements Aggregator {
  @Override
  public Weights aggregate(Weights global, List<ClientUpdate> updates) {
    return WeightMath.withValues(global, WeightMath.trimmedMean(global, updates, 0));
  }

  @Override
  public String toString() {
    return "EqualWeights";
  }
}
