package io.mnistfl.model;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/** The local optimizer and its hyper-parameters. The learning rate can be overridden per run. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
  @JsonSubTypes.Type(value = OptimizerSpec.Sgd.class, name = "sgd"),
  @JsonSubTypes.Type(value = OptimizerSpec.Adam.class, name = "adam")
})
public sealed interface OptimizerSpec {

  /**
   * The default learning rate.
   *
   * @return the learning rate
   */
  double learningRate();

  /**
   * Stochastic gradient descent with classical (or Nesterov) momentum; momentum 0 is plain SGD.
   *
   * @param learningRate the default learning rate, {@code > 0}
   * @param momentum the momentum, in [0, 1); 0 for plain SGD
   * @param nesterov whether the momentum is Nesterov's
   */
  record Sgd(double learningRate, double momentum, boolean nesterov) implements OptimizerSpec {
    /**
     * Checks the learning rate and the momentum.
     *
     * @param learningRate the learning rate, {@code > 0}
     * @param momentum the momentum, in [0, 1)
     * @param nesterov whether the momentum is Nesterov's
     * @throws IllegalArgumentException naming the value out of range
     */
    public Sgd {
      check(learningRate > 0, "learningRate must be > 0, was " + learningRate);
      check(momentum >= 0 && momentum < 1, "momentum must be in [0, 1), was " + momentum);
    }
  }

  /**
   * Adam (Kingma &amp; Ba 2015).
   *
   * @param learningRate the default learning rate, {@code > 0}
   * @param beta1 the first moment's decay, in [0, 1)
   * @param beta2 the second moment's decay, in [0, 1)
   * @param epsilon added to the denominator, {@code > 0}
   */
  record Adam(double learningRate, double beta1, double beta2, double epsilon)
      implements OptimizerSpec {
    /**
     * Checks every hyper-parameter.
     *
     * @param learningRate the learning rate, {@code > 0}
     * @param beta1 the first moment's decay, in [0, 1)
     * @param beta2 the second moment's decay, in [0, 1)
     * @param epsilon added to the denominator, {@code > 0}
     * @throws IllegalArgumentException naming the value out of range
     */
    public Adam {
      check(learningRate > 0, "learningRate must be > 0, was " + learningRate);
      check(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1), was " + beta1);
      check(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1), was " + beta2);
      check(epsilon > 0, "epsilon must be > 0, was " + epsilon);
    }

    /**
     * Adam with the usual defaults and the given learning rate.
     *
     * @param learningRate the learning rate, {@code > 0}
     * @return the optimizer
     */
    public static Adam withLearningRate(double learningRate) {
      return new Adam(learningRate, 0.9, 0.999, 1e-7);
    }
  }

  private static void check(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
