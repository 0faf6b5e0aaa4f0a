package io.mnistfl.fl.secagg;

import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.aggregate.WeightMath;
import io.mnistfl.model.Weights;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The shared-scale quantization of secure aggregation, the same on sites and server: a site's delta
 * (update − global), weighted and clipped to [−r, r], becomes b-bit integers, rounded up or down at
 * random in proportion to the remainder so that the sum stays unbiased. Sums of these integers
 * modulo 2^32 are exact as long as b + ⌈log2 n⌉ ≤ 32, and a sum of n sites' values is at most n ·
 * (2^b − 1): anything above it holds values outside the shared scale.
 *
 * <p>Without DP a site weighs min(examples, cap) / cap, so that the mean of the sum is FedAvg's
 * example-weighted mean; its weight travels in the clear, in units of 1/cap, signed, beside the
 * masked values. Under DP-FedAvg (a clip norm S) each site clips its delta to L2 norm S, weighs 1
 * (cap units), and r is S.
 *
 * @param bits b
 * @param range r
 * @param exampleCap the example count that weighs 1
 * @param clipNorm S under DP-FedAvg, else NaN
 */
record Quantizer(int bits, double range, int exampleCap, double clipNorm) {

  /** The quantizer for the given parameters; under DP the range is the clip norm. */
  static Quantizer of(int bits, double clipRange, int exampleCap, double clipNorm) {
    return new Quantizer(bits, Double.isNaN(clipNorm) ? clipRange : clipNorm, exampleCap, clipNorm);
  }

  private double step() {
    return 2 * range / ((1 << bits) - 1);
  }

  private int levels() {
    return (1 << bits) - 1;
  }

  /**
   * The weight of {@code update} in units of 1/cap: min(examples, cap) without DP, cap (that is, 1)
   * under DP-FedAvg.
   */
  int weightUnits(ClientUpdate update) {
    return Double.isNaN(clipNorm)
        ? Math.min(Math.max(update.numExamples(), 0), exampleCap)
        : exampleCap;
  }

  /** Why a site's clear weight of {@code units} is refused, or empty. */
  String weightRefusal(long units) {
    if (!Double.isNaN(clipNorm) && units != exampleCap) {
      return "a weight of " + units + "/" + exampleCap + "; under DP-FedAvg every site weighs 1";
    }
    if (units < 1 || units > exampleCap) {
      return "a weight of " + units + "/" + exampleCap + ", outside (0, 1]";
    }
    return "";
  }

  /** The sites' summed weight, from their summed weight units. */
  double totalWeight(long units) {
    return units / (double) exampleCap;
  }

  /** The d values of the weighted, clipped, quantized delta. */
  int[] quantize(Weights global, ClientUpdate update, SplittableRandom rounding) {
    List<Weights.NamedArray> gs = global.arrays();
    List<Weights.NamedArray> ws = update.weights().arrays();
    double weight;
    if (Double.isNaN(clipNorm)) {
      weight = weightUnits(update) / (double) exampleCap;
    } else {
      double norm = Math.sqrt(WeightMath.squaredDistance(update.weights(), global));
      weight = norm > clipNorm ? clipNorm / norm : 1;
    }
    int levels = levels();
    double toLevels = levels / (2 * range);
    int[] values = new int[(int) global.scalarCount()];
    int i = 0;
    long pool = 0;
    for (int a = 0; a < gs.size(); a++) {
      float[] g = gs.get(a).values();
      float[] w = ws.get(a).values();
      for (int j = 0; j < g.length; j++, i++) {
        double x = Math.max(-range, Math.min(range, weight * ((double) w[j] - g[j])));
        // One 64-bit draw serves two values: 32 bits of uniform rounding each.
        long u;
        if ((i & 1) == 0) {
          pool = rounding.nextLong();
          u = pool >>> 32;
        } else {
          u = pool & 0xFFFF_FFFFL;
        }
        values[i] = Math.min(levels, (int) ((x + range) * toLevels + u * 0x1p-32));
      }
    }
    return values;
  }

  /** Σ wᵢ·Δᵢ from the sum of {@code contributors} sites' values, shaped like {@code layout}. */
  Weights deltaSum(int[] sum, int contributors, Weights layout) {
    double step = step();
    double[][] out = WeightMath.zerosLike(layout);
    int i = 0;
    for (double[] row : out) {
      for (int j = 0; j < row.length; j++) {
        row[j] = Integer.toUnsignedLong(sum[i++]) * step - contributors * range;
      }
    }
    return WeightMath.withValues(layout, out);
  }

  /**
   * Why the unmasked {@code sum} of {@code contributors} sites cannot be theirs, or empty: each
   * value, read unsigned, must be at most contributors · (2^b − 1), which b + ⌈log2 n⌉ ≤ 32 keeps
   * below 2^32. A value above it holds a site's values from outside the shared scale; one within it
   * may still hold garbage, but no more than the contributors' range allows.
   */
  String outOfRange(int[] sum, int contributors) {
    long most = (long) contributors * levels();
    for (int i = 0; i < sum.length; i++) {
      long v = Integer.toUnsignedLong(sum[i]);
      if (v > most) {
        return "value "
            + i
            + " of the unmasked sum is "
            + v
            + ", above the "
            + most
            + " that "
            + contributors
            + " sites of "
            + bits
            + "-bit values can reach: a site sent values outside the shared scale";
      }
    }
    return "";
  }
}
