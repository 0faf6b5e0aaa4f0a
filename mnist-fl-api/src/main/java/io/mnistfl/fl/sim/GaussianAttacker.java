package io.mnistfl.fl.sim;

import io.mnistfl.fl.Client;
import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.internal.Require;
import io.mnistfl.model.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A simulated Byzantine client, for measuring how an aggregator holds up: it takes an honest
 * client's identity and example count, answers every fit with independent Gaussian noise N(0, σ²)
 * in place of trained weights (the attack of Blanchard et al. 2017) while claiming a perfect local
 * fit (loss 0, accuracy 1), and evaluates honestly. The noise is seeded by the round's seed and the
 * client's id.
 */
public final class GaussianAttacker implements Client {
  private final Client honest;
  private final double sigma;

  /**
   * @param honest the client whose identity and example count it takes, and that evaluates
   * @param sigma the noise's standard deviation, {@code > 0}
   */
  public GaussianAttacker(Client honest, double sigma) {
    Require.positive("sigma", sigma);
    this.honest = honest;
    this.sigma = sigma;
  }

  @Override
  public String id() {
    return honest.id();
  }

  @Override
  public int numExamples() {
    return honest.numExamples();
  }

  @Override
  public ClientUpdate fit(Weights global, RoundConfig config) {
    Random random = new Random(config.training().seed() * 31 + id().hashCode());
    List<Weights.NamedArray> noise = new ArrayList<>();
    for (Weights.NamedArray a : global.arrays()) {
      float[] v = new float[a.values().length];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (sigma * random.nextGaussian());
      }
      noise.add(new Weights.NamedArray(a.name(), a.shape(), v));
    }
    return new ClientUpdate(id(), new Weights(noise), numExamples(), 0, 1);
  }

  @Override
  public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
    return honest.evaluate(weights, config);
  }

  @Override
  public String toString() {
    return "GaussianAttacker(" + id() + ", sigma=" + sigma + ")";
  }
}
