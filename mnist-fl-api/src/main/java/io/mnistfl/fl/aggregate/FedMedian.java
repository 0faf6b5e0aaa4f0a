package io.mnistfl.fl.aggregate;

import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.model.Weights;
import java.util.List;

/**
 * The coordinate-wise median of the clients' weights (Yin et al. 2018), for rounds where some
 * clients may send arbitrary weights. Each element is the median of that element across the updates
 * (the mean of the middle two for an even count); example counts play no part, so neither an
 * outlying value nor an inflated count can move it while fewer than half of the updates are bad.
 * Costs a sort of n values per element and learns slower than {@link FedAvg} when every client is
 * honest.
 */
public final class FedMedian implements Aggregator {

  @Override
  public Weights aggregate(Weights global, List<ClientUpdate> updates) {
    int trim = (updates.size() - 1) / 2;
    return WeightMath.withValues(global, WeightMath.trimmedMean(global, updates, trim));
  }

  @Override
  public String toString() {
    return "FedMedian";
  }
}
