package io.mnistfl.model;

import java.util.Arrays;

/**
 * One variable a {@link ModelSpec} implies, e.g. {@code conv2d_0/kernel} of shape {@code [3, 3, 1,
 * 32]} (kernels are height × width × in × out; dense kernels in × out). Its name is made here and
 * only here, from its layer's kind and index and its role.
 *
 * @param name unique name, {@code <layer kind>_<layer index>/<role>}
 * @param shape dimensions
 * @param layer index of the layer it belongs to
 * @param role what it is in that layer
 * @param fanIn inputs per output unit (for initializers); 0 where not a kernel
 * @param fanOut outputs per input unit (for initializers); 0 where not a kernel
 */
public record ParameterShape(
    String name, int[] shape, int layer, Role role, int fanIn, int fanOut) {

  /** What a variable is in its layer. */
  public enum Role {
    /** A convolution's or dense layer's weights. */
    KERNEL,
    /** A bias, added after the kernel. */
    BIAS,
    /** Batch normalization's scale. */
    GAMMA,
    /** Batch normalization's offset. */
    BETA,
    /** Batch normalization's moving mean, updated by averaging, not by gradients. */
    MOVING_MEAN,
    /** Batch normalization's moving variance, updated by averaging, not by gradients. */
    MOVING_VARIANCE;

    /**
     * Whether gradients train it.
     *
     * @return false for the moving statistics
     */
    public boolean trainable() {
      return this != MOVING_MEAN && this != MOVING_VARIANCE;
    }
  }

  /**
   * Copies the shape.
   *
   * @param name unique name
   * @param shape dimensions
   * @param layer index of the layer it belongs to
   * @param role what it is in that layer
   * @param fanIn inputs per output unit; 0 where not a kernel
   * @param fanOut outputs per input unit; 0 where not a kernel
   * @throws IllegalArgumentException when a dimension is not positive or the variable would hold
   *     more than {@link ModelSpec#MAX_PARAMETERS} values
   */
  public ParameterShape {
    shape = shape.clone();
    long n = 1;
    for (int d : shape) {
      if (d <= 0) {
        throw new IllegalArgumentException(
            name + ": dimension " + d + " in " + Arrays.toString(shape));
      }
      n *= d;
      if (n > ModelSpec.MAX_PARAMETERS) {
        throw new IllegalArgumentException(
            name
                + " of shape "
                + Arrays.toString(shape)
                + " holds more than "
                + ModelSpec.MAX_PARAMETERS
                + " values, the most a model may have");
      }
    }
  }

  /** A variable of layer {@code index} of kind {@code kind} (e.g. {@code conv2d}). */
  static ParameterShape of(String kind, int index, Role role, int[] shape, int fanIn, int fanOut) {
    return new ParameterShape(
        kind + "_" + index + "/" + role.name().toLowerCase(), shape, index, role, fanIn, fanOut);
  }

  /**
   * The dimensions, as a copy.
   *
   * @return the dimensions
   */
  @Override
  public int[] shape() {
    return shape.clone();
  }

  /**
   * Whether gradients train it (false for batch-norm moving statistics).
   *
   * @return whether it is trained
   */
  public boolean trainable() {
    return role.trainable();
  }

  /**
   * Number of scalars.
   *
   * @return the product of the dimensions
   */
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
        && p.layer == layer
        && p.role == role
        && p.fanIn == fanIn
        && p.fanOut == fanOut;
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(shape);
  }

  @Override
  public String toString() {
    return name + Arrays.toString(shape) + (trainable() ? "" : " (not trained)");
  }
}
