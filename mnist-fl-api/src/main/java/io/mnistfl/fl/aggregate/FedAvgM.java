package io.mnistfl.fl.aggregate;

import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.StrategyState;
import io.mnistfl.internal.Require;
import io.mnistfl.model.Weights;
import java.util.List;
import java.util.Optional;

/**
 * FedAvg with server momentum (Hsu et al. 2019): with Δ = average − global, {@code v ← β·v + Δ} and
 * {@code global ← global + η·v}. η = 1, β = 0 is FedAvg.
 */
public final class FedAvgM implements Aggregator {
  private final double serverLearningRate;
  private final double momentum;
  private double[][] velocity;

  /**
   * @param serverLearningRate η, {@code > 0}
   * @param momentum β, in [0, 1)
   */
  public FedAvgM(double serverLearningRate, double momentum) {
    Require.positive("serverLearningRate", serverLearningRate);
    Require.decayRate("momentum", momentum);
    this.serverLearningRate = serverLearningRate;
    this.momentum = momentum;
  }

  @Override
  public Weights aggregate(Weights global, List<ClientUpdate> updates) {
    return step(global, WeightMath.minus(WeightMath.weightedAverage(global, updates), global));
  }

  @Override
  public boolean aggregatesMeans() {
    return true;
  }

  @Override
  public Weights aggregateMean(Weights global, Weights meanDelta) {
    global.requireSameLayout(meanDelta, "mean delta");
    return step(global, WeightMath.toDouble(meanDelta));
  }

  private Weights step(Weights global, double[][] delta) {
    if (velocity == null) {
      velocity = WeightMath.zerosLike(global);
    }
    WeightMath.requireFits(velocity, global, toString());
    double[][] next = new double[delta.length][];
    for (int a = 0; a < delta.length; a++) {
      float[] w = global.arrays().get(a).values();
      next[a] = new double[w.length];
      for (int i = 0; i < w.length; i++) {
        velocity[a][i] = momentum * velocity[a][i] + delta[a][i];
        next[a][i] = w[i] + serverLearningRate * velocity[a][i];
      }
    }
    return WeightMath.withValues(global, next);
  }

  @Override
  public boolean keepsState() {
    return true;
  }

  /** The server's velocity, {@code velocity.0}, {@code velocity.1}, …. */
  @Override
  public StrategyState state() {
    return velocity == null
        ? StrategyState.empty()
        : StrategyState.empty().withArrays("velocity", velocity);
  }

  @Override
  public void restore(StrategyState state) {
    if (state.isEmpty()) {
      velocity = null;
      return;
    }
    Optional<List<double[]>> positional = state.positional();
    double[][] rows =
        positional.isPresent()
            ? WeightMath.splitState(positional.get(), 1, toString())[0]
            : state.arrays("velocity");
    if (rows.length == 0 || positional.isEmpty() && state.arrays().size() != rows.length) {
      throw new IllegalArgumentException(
          this + " keeps its velocity as velocity.0.., but was given " + state);
    }
    velocity = rows;
  }

  @Override
  public String toString() {
    return "FedAvgM(eta=" + serverLearningRate + ", beta=" + momentum + ")";
  }
}
