package io.mnistfl.model;

import java.util.Arrays;

/**
 * One named variable a {@link ModelSpec} implies, e.g. {@code conv2d_0/kernel} of shape {@code
 * [3, 3, 1, 32]} (kernels are height × width × in × out; dense kernels in × out).
 *
 * @param name unique name, {@code <layer>_<index>/<role>}
 * @param shape dimensions
 * @param trainable false for batch-norm moving statistics, which are updated by averaging
 * @param fanIn inputs per output unit (for initializers); 0 where not a kernel
 * @param fanOut outputs per input unit (for initializers); 0 where not a kernel
 */
public record ParameterShape(String name, int[] shape, boolean trainable, int fanIn, int fanOut) {

  public ParameterShape {
    shape = shape.clone();
  }

  @Override
  public int[] shape() {
    return shape.clone();
  }

  /** Number of scalars. */
  public int size() {
    int n = 1;
    for (int d : shape) {
      n *= d;
    }
    return n;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ParameterShape p
        && p.name.equals(name)
        && Arrays.equals(p.shape, shape)
        && p.trainable == trainable
        && p.fanIn == fanIn
        && p.fanOut == fanOut;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + Arrays.toString(shape) + (trainable ? "" : " (not trained)");
  }
}
