package io.mnistfl.fl.aggregate;

import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.model.Weights;
import java.util.List;

/**
 * The coordinate-wise trimmed mean of the clients' weights (Yin et al. 2018): per element, the
 * ⌊β·n⌋ lowest and the ⌊β·n⌋ highest of the n updates' values are dropped and the rest averaged
 * with equal weight. It withstands up to ⌊β·n⌋ clients sending arbitrary weights, and stays closer
 * to {@link FedAvg} than {@link FedMedian} does when all are honest.
 */
public final class FedTrimmedAvg implements Aggregator {
  private final double beta;

  /**
   * @param beta the share trimmed from each side, in [0, 0.5); Flower's default is 0.2
   */
  public FedTrimmedAvg(double beta) {
    if (!(beta >= 0 && beta < 0.5)) {
      throw new IllegalArgumentException("beta must be in [0, 0.5), was " + beta);
    }
    this.beta = beta;
  }

  @Override
  public Weights aggregate(Weights global, List<ClientUpdate> updates) {
    int trim = (int) Math.floor(beta * updates.size());
    return WeightMath.withValues(global, WeightMath.trimmedMean(global, updates, trim));
  }

  @Override
  public String toString() {
    return "FedTrimmedAvg(beta=" + beta + ")";
  }
}
