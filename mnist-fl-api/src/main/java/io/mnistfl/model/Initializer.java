package io.mnistfl.model;

import java.util.SplittableRandom;

/**
 * How a kernel is initialized, computed in plain Java from the model seed so that initial weights
 * are identical on every backend and machine. Biases always start at zero.
 */
public enum Initializer {
  /** Uniform in {@code ±sqrt(6 / fanIn)} (He et al. 2015), for ReLU layers. */
  HE_UNIFORM {
    @Override
    double limit(int fanIn, int fanOut) {
      return Math.sqrt(6.0 / fanIn);
    }
  },
  /** Uniform in {@code ±sqrt(6 / (fanIn + fanOut))} (Glorot &amp; Bengio 2010). */
  GLOROT_UNIFORM {
    @Override
    double limit(int fanIn, int fanOut) {
      return Math.sqrt(6.0 / (fanIn + fanOut));
    }
  },
  /** Uniform in {@code ±sqrt(3 / fanIn)} (LeCun). */
  LECUN_UNIFORM {
    @Override
    double limit(int fanIn, int fanOut) {
      return Math.sqrt(3.0 / fanIn);
    }
  };

  abstract double limit(int fanIn, int fanOut);

  /**
   * Fills {@code values} uniformly in {@code [-limit, limit)}.
   *
   * @param values the kernel's values, overwritten
   * @param fanIn inputs per output unit
   * @param fanOut outputs per input unit
   * @param random draws the values
   */
  public void fill(float[] values, int fanIn, int fanOut, SplittableRandom random) {
    double limit = limit(fanIn, fanOut);
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) ((random.nextDouble() * 2 - 1) * limit);
    }
  }
}
