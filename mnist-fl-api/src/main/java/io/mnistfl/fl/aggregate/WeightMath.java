package io.mnistfl.fl.aggregate;

import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.model.Weights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Element-wise arithmetic on weights for aggregators, in double where it accumulates. Every method
 * reads its arguments and returns new arrays; none changes what it is given.
 */
public final class WeightMath {
  private WeightMath() {}

  /**
   * Fails on a round without updates: there is nothing to aggregate.
   *
   * @param updates the round's updates
   * @throws IllegalArgumentException when there are none
   */
  public static void requireUpdates(List<ClientUpdate> updates) {
    if (updates.isEmpty()) {
      throw new IllegalArgumentException("no updates to aggregate");
    }
  }

  /**
   * Σ nᵢ·wᵢ / Σ nᵢ over the updates, per element, accumulated in double.
   *
   * @param layout the global weights, whose layout the updates share
   * @param updates at least one update
   * @return the average, one array per weight array
   * @throws IllegalArgumentException when there are no updates or one has no examples
   */
  public static double[][] weightedAverage(Weights layout, List<ClientUpdate> updates) {
    requireUpdates(updates);
    long total = 0;
    for (ClientUpdate u : updates) {
      if (u.numExamples() <= 0) {
        throw new IllegalArgumentException(
            u.clientId() + ": numExamples must be > 0, was " + u.numExamples());
      }
      total += u.numExamples();
    }
    double[][] sum = zerosLike(layout);
    for (ClientUpdate u : updates) {
      double share = (double) u.numExamples() / total;
      List<Weights.NamedArray> theirs = u.weights().arrays();
      for (int a = 0; a < sum.length; a++) {
        float[] v = theirs.get(a).values();
        double[] s = sum[a];
        for (int i = 0; i < s.length; i++) {
          s[i] += share * v[i];
        }
      }
    }
    return sum;
  }

  /**
   * Per element, the mean of the updates' values left after dropping the {@code trim} lowest and
   * the {@code trim} highest; example counts play no part. {@code trim = (n - 1) / 2} gives the
   * median (the mean of the middle two when n is even).
   *
   * @param layout the global weights, whose layout the updates share
   * @param updates at least one update
   * @param trim how many values to drop at each end, below half the updates
   * @return the trimmed mean, one array per weight array
   * @throws IllegalArgumentException when there are no updates or {@code trim} is out of range
   */
  public static double[][] trimmedMean(Weights layout, List<ClientUpdate> updates, int trim) {
    requireUpdates(updates);
    int n = updates.size();
    if (trim < 0 || 2 * trim >= n) {
      throw new IllegalArgumentException(
          "cannot trim " + trim + " of " + n + " updates from each side");
    }
    double[][] out = zerosLike(layout);
    float[] column = new float[n];
    for (int a = 0; a < out.length; a++) {
      float[][] theirs = new float[n][];
      for (int c = 0; c < n; c++) {
        theirs[c] = updates.get(c).weights().arrays().get(a).values();
      }
      double[] o = out[a];
      for (int i = 0; i < o.length; i++) {
        for (int c = 0; c < n; c++) {
          column[c] = theirs[c][i];
        }
        Arrays.sort(column);
        double sum = 0;
        for (int c = trim; c < n - trim; c++) {
          sum += column[c];
        }
        o[i] = sum / (n - 2 * trim);
      }
    }
    return out;
  }

  /**
   * Σ (xᵢ − yᵢ)² over every element of two updates' weights, in double.
   *
   * @param x one update's weights
   * @param y the other's, with the same layout
   * @return the squared Euclidean distance
   */
  public static double squaredDistance(Weights x, Weights y) {
    double sum = 0;
    for (int a = 0; a < x.arrays().size(); a++) {
      float[] u = x.arrays().get(a).values();
      float[] v = y.arrays().get(a).values();
      for (int i = 0; i < u.length; i++) {
        double d = (double) u[i] - v[i];
        sum += d * d;
      }
    }
    return sum;
  }

  /**
   * Weights with {@code layout}'s names and shapes and the given values.
   *
   * @param layout gives the names and shapes
   * @param values one array per weight array of {@code layout}
   * @return the new weights
   */
  public static Weights withValues(Weights layout, double[][] values) {
    List<Weights.NamedArray> out = new ArrayList<>(values.length);
    for (int a = 0; a < values.length; a++) {
      Weights.NamedArray like = layout.arrays().get(a);
      float[] v = new float[values[a].length];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) values[a][i];
      }
      out.add(new Weights.NamedArray(like.name(), like.shape(), v));
    }
    return new Weights(out);
  }

  /**
   * Splits a state saved by position (a format-1 checkpoint's) into {@code parts} equal parts of
   * copied arrays, failing unless it divides evenly.
   *
   * @param state the saved state
   * @param parts how many parts to split it into
   * @param owner names the aggregator in the error
   * @return the parts, each an array of copied arrays
   * @throws IllegalArgumentException when the state does not divide evenly
   */
  static double[][][] splitState(List<double[]> state, int parts, String owner) {
    if (state.size() % parts != 0) {
      throw new IllegalArgumentException(
          owner
              + " keeps "
              + parts
              + " arrays per weight"
              + " array, but was given "
              + state.size());
    }
    int each = state.size() / parts;
    double[][][] split = new double[parts][each][];
    for (int i = 0; i < state.size(); i++) {
      split[i / each][i % each] = state.get(i).clone();
    }
    return split;
  }

  /**
   * Fails unless a restored {@code state} part has {@code layout}'s shape.
   *
   * @param state the restored part
   * @param layout the global weights
   * @param owner names the aggregator in the error
   * @throws IllegalArgumentException when the shapes differ
   */
  public static void requireFits(double[][] state, Weights layout, String owner) {
    boolean fits = state.length == layout.arrays().size();
    for (int a = 0; fits && a < state.length; a++) {
      fits = state[a].length == layout.arrays().get(a).values().length;
    }
    if (!fits) {
      throw new IllegalArgumentException(
          owner + ": the restored state does not fit the" + " global weights");
    }
  }

  /**
   * {@code a + b}, element by element, as weights with {@code a}'s names and shapes.
   *
   * @param a the first weights
   * @param b the weights to add, with the same layout
   * @return the sum
   */
  public static Weights plus(Weights a, Weights b) {
    a.requireSameLayout(b, "addend");
    List<Weights.NamedArray> out = new ArrayList<>(a.arrays().size());
    for (int i = 0; i < a.arrays().size(); i++) {
      Weights.NamedArray x = a.arrays().get(i);
      float[] y = b.arrays().get(i).values();
      float[] v = new float[y.length];
      for (int k = 0; k < v.length; k++) {
        v[k] = x.values()[k] + y[k];
      }
      out.add(new Weights.NamedArray(x.name(), x.shape(), v));
    }
    return new Weights(out);
  }

  /**
   * {@code values − layout}, element by element, in double.
   *
   * @param values the arrays to subtract from
   * @param layout the weights to subtract, with the same layout
   * @return the difference
   */
  public static double[][] minus(double[][] values, Weights layout) {
    double[][] out = new double[values.length][];
    for (int a = 0; a < values.length; a++) {
      float[] g = layout.arrays().get(a).values();
      out[a] = new double[g.length];
      for (int i = 0; i < g.length; i++) {
        out[a][i] = values[a][i] - g[i];
      }
    }
    return out;
  }

  /**
   * {@code factor · w}, element by element, as weights with {@code w}'s names and shapes.
   *
   * @param w the weights
   * @param factor the scale
   * @return the scaled weights
   */
  public static Weights scaled(Weights w, double factor) {
    double[][] out = toDouble(w);
    for (double[] row : out) {
      for (int i = 0; i < row.length; i++) {
        row[i] *= factor;
      }
    }
    return withValues(w, out);
  }

  /**
   * The values of {@code w} as double arrays, in order.
   *
   * @param w the weights
   * @return one double array per weight array
   */
  public static double[][] toDouble(Weights w) {
    double[][] out = new double[w.arrays().size()][];
    for (int a = 0; a < out.length; a++) {
      float[] v = w.arrays().get(a).values();
      out[a] = new double[v.length];
      for (int i = 0; i < v.length; i++) {
        out[a][i] = v[i];
      }
    }
    return out;
  }

  /**
   * Zeros shaped like {@code layout}.
   *
   * @param layout gives the shapes
   * @return one zero array per weight array
   */
  public static double[][] zerosLike(Weights layout) {
    double[][] z = new double[layout.arrays().size()][];
    for (int a = 0; a < z.length; a++) {
      z[a] = new double[layout.arrays().get(a).values().length];
    }
    return z;
  }
}
