package io.mnistfl.fl.aggregate;

import io.mnistfl.internal.Require;

/** FedAdam: {@code v ← β₂·v + (1 − β₂)·Δ²}. */
public final class FedAdam extends FedOpt {
  private final double beta2;

  /**
   * @param eta server learning rate η, {@code > 0}
   * @param beta1 first-moment decay β₁, in [0, 1)
   * @param beta2 second-moment decay β₂, in [0, 1)
   * @param tau adaptivity τ, {@code > 0}
   */
  public FedAdam(double eta, double beta1, double beta2, double tau) {
    super(eta, beta1, tau);
    Require.decayRate("beta2", beta2);
    this.beta2 = beta2;
  }

  @Override
  protected double secondMoment(double v, double deltaSquared) {
    return beta2 * v + (1 - beta2) * deltaSquared;
  }

  @Override
  public String toString() {
    return "FedAdam(eta=" + eta + ", beta1=" + beta1 + ", beta2=" + beta2 + ", tau=" + tau + ")";
  }
}
