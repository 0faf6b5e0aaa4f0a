package io.mnistfl.fl.aggregate;

import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.StrategyState;
import io.mnistfl.internal.Require;
import io.mnistfl.model.Weights;
import java.util.List;
import java.util.Optional;

/**
 * Adaptive server optimizers (Reddi et al. 2021, Algorithm 2). The pseudo-gradient is Δ = weighted
 * average − global; {@code m ← β₁·m + (1 − β₁)·Δ}; {@code v} is updated by the subclass from Δ²;
 * {@code global ← global + η·m / (√v + τ)}. {@code m} starts at 0 and {@code v} at τ², as in the
 * paper; no bias correction.
 */
public abstract class FedOpt implements Aggregator {
  /** Server learning rate η. */
  protected final double eta;

  /** First-moment decay β₁. */
  protected final double beta1;

  /** Adaptivity τ. */
  protected final double tau;

  private double[][] m;
  private double[][] v;

  /**
   * @param eta server learning rate η, {@code > 0}
   * @param beta1 first-moment decay β₁, in [0, 1)
   * @param tau adaptivity τ, {@code > 0}
   */
  protected FedOpt(double eta, double beta1, double tau) {
    Require.positive("eta", eta);
    Require.decayRate("beta1", beta1);
    Require.positive("tau", tau);
    this.eta = eta;
    this.beta1 = beta1;
    this.tau = tau;
  }

  /**
   * The new second moment from the old one and the squared pseudo-gradient Δ².
   *
   * @param v the old second moment
   * @param deltaSquared the squared pseudo-gradient
   * @return the new second moment
   */
  protected abstract double secondMoment(double v, double deltaSquared);

  /** The first moments {@code m.0}, {@code m.1}, … and the second moments {@code v.0}, …. */
  @Override
  public final StrategyState state() {
    return m == null
        ? StrategyState.empty()
        : StrategyState.empty().withArrays("m", m).withArrays("v", v);
  }

  @Override
  public final void restore(StrategyState state) {
    if (state.isEmpty()) {
      m = null;
      v = null;
      return;
    }
    Optional<List<double[]>> positional = state.positional();
    if (positional.isPresent()) {
      // A format-1 checkpoint: the first moments, then the second moments.
      double[][][] moments = WeightMath.splitState(positional.get(), 2, toString());
      m = moments[0];
      v = moments[1];
      return;
    }
    double[][] first = state.arrays("m");
    double[][] second = state.arrays("v");
    if (first.length == 0
        || first.length != second.length
        || state.arrays().size() != 2 * first.length) {
      throw new IllegalArgumentException(
          this + " keeps moments m.0.. and v.0.. of one length, but was given " + state);
    }
    m = first;
    v = second;
  }

  @Override
  public final Weights aggregate(Weights global, List<ClientUpdate> updates) {
    return step(global, WeightMath.minus(WeightMath.weightedAverage(global, updates), global));
  }

  @Override
  public final boolean aggregatesMeans() {
    return true;
  }

  @Override
  public final Weights aggregateMean(Weights global, Weights meanDelta) {
    global.requireSameLayout(meanDelta, "mean delta");
    return step(global, WeightMath.toDouble(meanDelta));
  }

  @Override
  public final boolean keepsState() {
    return true;
  }

  private Weights step(Weights global, double[][] delta) {
    if (m == null) {
      m = WeightMath.zerosLike(global);
      v = WeightMath.zerosLike(global);
      for (double[] row : v) {
        java.util.Arrays.fill(row, tau * tau);
      }
    }
    WeightMath.requireFits(m, global, toString());
    WeightMath.requireFits(v, global, toString());
    double[][] next = new double[delta.length][];
    for (int a = 0; a < delta.length; a++) {
      float[] w = global.arrays().get(a).values();
      next[a] = new double[w.length];
      for (int i = 0; i < w.length; i++) {
        double d = delta[a][i];
        m[a][i] = beta1 * m[a][i] + (1 - beta1) * d;
        v[a][i] = secondMoment(v[a][i], d * d);
        next[a][i] = w[i] + eta * m[a][i] / (Math.sqrt(v[a][i]) + tau);
      }
    }
    return WeightMath.withValues(global, next);
  }
}
