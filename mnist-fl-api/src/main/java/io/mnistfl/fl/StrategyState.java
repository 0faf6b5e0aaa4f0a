package io.mnistfl.fl;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * What a {@link Stateful} strategy or aggregator carries from one round to the next (a server
 * optimizer's moments, DP-FedAvg's count of draws, a per-site map), as named arrays and scalars, so
 * that a checkpoint can keep it and a resumed run go on as if never stopped.
 *
 * <p>The contract of {@link Stateful}, for strategies and aggregators alike: {@code state()}
 * returns a copy of what the next round needs (empty before the first round, or for one that keeps
 * nothing, whose {@code keepsState()} is false); {@code restore(state)} takes up a state saved by
 * one of the same kind and parameters, and an empty one starts afresh; the round loop calls {@code
 * restore} before a federation's first round and saves {@code state()} after every round. A
 * stateful strategy whose checkpoint lacks its state is refused on resume. Names are 1 to 256
 * characters of letters, digits and {@code . _ - / : #}; a decorator keeps its own names apart from
 * the wrapped one's by a prefix (e.g. {@code dp.draws}). Checkpoints of format 1 kept state as a
 * list of arrays by position: they load as arrays named {@code #0}, {@code #1}, … ({@link
 * #positional()}), which the library's own strategies still read.
 *
 * @param arrays the named arrays
 * @param scalars the named scalars
 */
public record StrategyState(SortedMap<String, double[]> arrays, SortedMap<String, Double> scalars) {
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._/:#-]{1,256}");
  private static final String POSITION = "#";

  /**
   * Copies the maps and arrays, checking the names.
   *
   * @param arrays the named arrays
   * @param scalars the named scalars
   * @throws IllegalArgumentException naming a malformed name, or a name used twice
   */
  public StrategyState {
    SortedMap<String, double[]> a = new TreeMap<>();
    arrays.forEach((name, values) -> a.put(checked(name), values.clone()));
    SortedMap<String, Double> s = new TreeMap<>();
    scalars.forEach((name, value) -> s.put(checked(name), Objects.requireNonNull(value, name)));
    for (String name : s.keySet()) {
      if (a.containsKey(name)) {
        throw new IllegalArgumentException("state name " + name + " is both an array and a scalar");
      }
    }
    arrays = Collections.unmodifiableSortedMap(a);
    scalars = Collections.unmodifiableSortedMap(s);
  }

  private static String checked(String name) {
    if (name == null || !NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "a state name must be 1 to 256 of [A-Za-z0-9._/:#-], was " + name);
    }
    return name;
  }

  /**
   * No state.
   *
   * @return the empty state
   */
  public static StrategyState empty() {
    return new StrategyState(new TreeMap<>(), new TreeMap<>());
  }

  /**
   * A state kept by position, as format-1 checkpoints did: arrays named {@code #0}, {@code #1}, ….
   *
   * @param arrays the arrays, in order
   * @return the state
   */
  public static StrategyState ofPositional(List<double[]> arrays) {
    SortedMap<String, double[]> named = new TreeMap<>();
    for (int i = 0; i < arrays.size(); i++) {
      named.put(POSITION + i, arrays.get(i));
    }
    return new StrategyState(named, new TreeMap<>());
  }

  /**
   * Whether there is nothing in it.
   *
   * @return whether it has no array and no scalar
   */
  public boolean isEmpty() {
    return arrays.isEmpty() && scalars.isEmpty();
  }

  /**
   * This state with the array {@code name} set to a copy of {@code values}.
   *
   * @param name the array's name
   * @param values its values
   * @return the new state
   */
  public StrategyState withArray(String name, double[] values) {
    SortedMap<String, double[]> a = new TreeMap<>(arrays);
    a.put(name, values);
    return new StrategyState(a, scalars);
  }

  /**
   * This state with {@code prefix.0}, {@code prefix.1}, … set to copies of {@code rows}.
   *
   * @param prefix the arrays' common name
   * @param rows the arrays, in order
   * @return the new state
   */
  public StrategyState withArrays(String prefix, double[][] rows) {
    SortedMap<String, double[]> a = new TreeMap<>(arrays);
    for (int i = 0; i < rows.length; i++) {
      a.put(prefix + "." + i, rows[i]);
    }
    return new StrategyState(a, scalars);
  }

  /**
   * This state with the scalar {@code name} set.
   *
   * @param name the scalar's name
   * @param value its value
   * @return the new state
   */
  public StrategyState withScalar(String name, double value) {
    SortedMap<String, Double> s = new TreeMap<>(scalars);
    s.put(name, value);
    return new StrategyState(arrays, s);
  }

  /**
   * This state and {@code other}'s entries together.
   *
   * @param other another state, whose names must not be in this one
   * @return the union
   * @throws IllegalArgumentException naming a name both hold
   */
  public StrategyState plus(StrategyState other) {
    SortedMap<String, double[]> a = new TreeMap<>(arrays);
    SortedMap<String, Double> s = new TreeMap<>(scalars);
    other.arrays.forEach(
        (name, values) -> {
          if (a.put(name, values) != null || s.containsKey(name)) {
            throw new IllegalArgumentException("state name " + name + " is used twice");
          }
        });
    other.scalars.forEach(
        (name, value) -> {
          if (s.put(name, value) != null || a.containsKey(name)) {
            throw new IllegalArgumentException("state name " + name + " is used twice");
          }
        });
    return new StrategyState(a, s);
  }

  /**
   * This state without the entries {@code names}.
   *
   * @param names the names to leave out
   * @return the rest
   */
  public StrategyState without(String... names) {
    SortedMap<String, double[]> a = new TreeMap<>(arrays);
    SortedMap<String, Double> s = new TreeMap<>(scalars);
    for (String name : names) {
      a.remove(name);
      s.remove(name);
    }
    return new StrategyState(a, s);
  }

  /**
   * A copy of the array {@code name}.
   *
   * @param name the array's name
   * @return its values, or empty when there is none of that name
   */
  public Optional<double[]> array(String name) {
    return Optional.ofNullable(arrays.get(name)).map(double[]::clone);
  }

  /**
   * Copies of {@code prefix.0}, {@code prefix.1}, … as set by {@link #withArrays}.
   *
   * @param prefix the arrays' common name
   * @return the arrays in order; none when there is no {@code prefix.0}
   */
  public double[][] arrays(String prefix) {
    List<double[]> rows = new ArrayList<>();
    for (int i = 0; arrays.containsKey(prefix + "." + i); i++) {
      rows.add(arrays.get(prefix + "." + i).clone());
    }
    return rows.toArray(double[][]::new);
  }

  /**
   * The scalar {@code name}.
   *
   * @param name the scalar's name
   * @return its value, or empty when there is none of that name
   */
  public OptionalDouble scalar(String name) {
    Double v = scalars.get(name);
    return v == null ? OptionalDouble.empty() : OptionalDouble.of(v);
  }

  /**
   * The arrays of a state kept by position (a format-1 checkpoint's), in order.
   *
   * @return the arrays {@code #0}, {@code #1}, …; empty unless this is such a state
   */
  public Optional<List<double[]>> positional() {
    if (arrays.isEmpty() || !scalars.isEmpty()) {
      return Optional.empty();
    }
    List<double[]> rows = new ArrayList<>();
    for (int i = 0; i < arrays.size(); i++) {
      double[] row = arrays.get(POSITION + i);
      if (row == null) {
        return Optional.empty();
      }
      rows.add(row.clone());
    }
    return Optional.of(rows);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof StrategyState other)
        || !arrays.keySet().equals(other.arrays.keySet())
        || !scalars.equals(other.scalars)) {
      return false;
    }
    for (Map.Entry<String, double[]> e : arrays.entrySet()) {
      if (!Arrays.equals(e.getValue(), other.arrays.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    int h = scalars.hashCode();
    for (Map.Entry<String, double[]> e : arrays.entrySet()) {
      h = 31 * h + e.getKey().hashCode() + Arrays.hashCode(e.getValue());
    }
    return h;
  }

  @Override
  public String toString() {
    List<String> parts = new ArrayList<>();
    arrays.forEach((name, values) -> parts.add(name + "[" + values.length + "]"));
    scalars.forEach((name, value) -> parts.add(name + "=" + value));
    return "StrategyState" + parts;
  }
}
