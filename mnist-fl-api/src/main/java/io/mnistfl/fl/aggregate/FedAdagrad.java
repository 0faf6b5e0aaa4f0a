package io.mnistfl.fl.aggregate;

/** FedAdagrad: {@code v ← v + Δ²}. */
public final class FedAdagrad extends FedOpt {
  /**
   * @param eta server learning rate η, {@code > 0}
   * @param beta1 first-moment decay β₁, in [0, 1)
   * @param tau adaptivity τ, {@code > 0}
   */
  public FedAdagrad(double eta, double beta1, double tau) {
    super(eta, beta1, tau);
  }

  @Override
  protected double secondMoment(double v, double deltaSquared) {
    return v + deltaSquared;
  }

  @Override
  public String toString() {
    return "FedAdagrad(eta=" + eta + ", beta1=" + beta1 + ", tau=" + tau + ")";
  }
}
