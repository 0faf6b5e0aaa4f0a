package io.mnistfl.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * All variables of a model as named, shaped float arrays — no backend types — in the order of
 * {@link ModelSpec#parameters()}. This is what a client sends and a server averages. Equality is
 * bit-exact. Arrays are shared, not copied: treat them as read-only or {@link #copy()} first.
 */
public final class Weights {

  /**
   * One variable.
   *
   * @param name the variable's name, e.g. {@code conv2d_0/kernel}
   * @param shape its dimensions
   * @param values its values, row-major
   */
  public record NamedArray(String name, int[] shape, float[] values) {
    /**
     * Checks that the shape fits the values, and copies the shape.
     *
     * @param name the variable's name
     * @param shape its dimensions
     * @param values its values, row-major
     * @throws IllegalArgumentException when a dimension is negative or the shape does not fit
     */
    public NamedArray {
      Objects.requireNonNull(name, "name");
      int n = 1;
      for (int d : shape) {
        if (d < 0) {
          throw new IllegalArgumentException(
              name + ": negative dimension in " + Arrays.toString(shape));
        }
        n *= d;
      }
      if (n != values.length) {
        throw new IllegalArgumentException(
            name
                + ": shape "
                + Arrays.toString(shape)
                + " needs "
                + n
                + " values, got "
                + values.length);
      }
      shape = shape.clone();
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

    /** The shape without copying, for the hot paths in this library. */
    int[] shapeView() {
      return shape;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof NamedArray a
          && a.name.equals(name)
          && Arrays.equals(a.shape, shape)
          && Arrays.equals(a.values, values);
    }

    @Override
    public int hashCode() {
      return name.hashCode() * 31 + Arrays.hashCode(values);
    }

    @Override
    public String toString() {
      return name + Arrays.toString(shape);
    }
  }

  private final List<NamedArray> arrays;
  private final Map<String, NamedArray> byName;

  /**
   * Weights from arrays with distinct names.
   *
   * @param arrays the arrays, in model order
   * @throws IllegalArgumentException when two arrays share a name
   */
  public Weights(List<NamedArray> arrays) {
    this.arrays = List.copyOf(arrays);
    Map<String, NamedArray> map = new LinkedHashMap<>();
    for (NamedArray a : this.arrays) {
      if (map.put(a.name(), a) != null) {
        throw new IllegalArgumentException("duplicate weight name " + a.name());
      }
    }
    this.byName = Collections.unmodifiableMap(map);
  }

  /**
   * The arrays in model order.
   *
   * @return the arrays, unmodifiable
   */
  public List<NamedArray> arrays() {
    return arrays;
  }

  /**
   * The array with this name, if any.
   *
   * @param name the array's name
   * @return the array, or empty
   */
  public Optional<NamedArray> get(String name) {
    return Optional.ofNullable(byName.get(name));
  }

  /**
   * Total number of scalars.
   *
   * @return the number of scalars
   */
  public long scalarCount() {
    long n = 0;
    for (NamedArray a : arrays) {
      n += a.values().length;
    }
    return n;
  }

  /**
   * A deep copy.
   *
   * @return the copy
   */
  public Weights copy() {
    List<NamedArray> copies = new ArrayList<>(arrays.size());
    for (NamedArray a : arrays) {
      copies.add(new NamedArray(a.name(), a.shapeView(), a.values().clone()));
    }
    return new Weights(copies);
  }

  /**
   * Checks that {@code other} has the same names and shapes in the same order.
   *
   * @param other the weights to check
   * @param otherName names them in the error
   * @throws IllegalArgumentException naming the first difference
   */
  public void requireSameLayout(Weights other, String otherName) {
    if (other.arrays.size() != arrays.size()) {
      throw new IllegalArgumentException(
          otherName + ": " + other.arrays.size() + " arrays, expected " + arrays.size());
    }
    for (int i = 0; i < arrays.size(); i++) {
      NamedArray mine = arrays.get(i);
      NamedArray theirs = other.arrays.get(i);
      if (!mine.name().equals(theirs.name())
          || !Arrays.equals(mine.shapeView(), theirs.shapeView())) {
        throw new IllegalArgumentException(
            otherName + ": array " + i + " is " + theirs + ", expected " + mine);
      }
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Weights w && w.arrays.equals(arrays);
  }

  @Override
  public int hashCode() {
    return arrays.hashCode();
  }

  @Override
  public String toString() {
    return "Weights" + arrays + " (" + scalarCount() + " scalars)";
  }
}
