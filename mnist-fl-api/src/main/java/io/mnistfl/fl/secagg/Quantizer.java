package io.mnistfl.fl.secagg;

import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.aggregate.WeightMath;
import io.mnistfl.model.Weights;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The shared-scale quantization of secure aggregation, the same on sites and server: a site's delta
 * (update − global), weighted and clipped to [−r, r], becomes b-bit integers, rounded up or down at
 * random in proportion to the remainder so that the sum stays unbiased; its weight follows as one
 * more value in 16-bit fixed point. Sums of these integers modulo 2^32 are exact as long as b +
 * ⌈log2 n⌉ ≤ 32.
 *
 * <p>Without DP a site weighs min(examples, cap) / cap, so that the mean of the sum is FedAvg's
 * example-weighted mean. Under DP-FedAvg (a clip norm S) each site clips its delta to L2 norm S,
 * weighs 1, and r is S.
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

  /** The d values of the weighted, clipped, quantized delta, then the weight: d + 1 ints. */
  int[] quantize(Weights global, ClientUpdate update, SplittableRandom rounding) {
    List<Weights.NamedArray> gs = global.arrays();
    List<Weights.NamedArray> ws = update.weights().arrays();
    double weight;
    double siteWeight;
    if (Double.isNaN(clipNorm)) {
      weight = Math.min(Math.max(update.numExamples(), 0), exampleCap) / (double) exampleCap;
      siteWeight = weight;
    } else {
      double norm = Math.sqrt(WeightMath.squaredDistance(update.weights(), global));
      weight = norm > clipNorm ? clipNorm / norm : 1;
      siteWeight = 1;
    }
    int levels = (1 << bits) - 1;
    double toLevels = levels / (2 * range);
    int[] values = new int[(int) global.scalarCount() + 1];
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
    values[i] = (int) Math.round(siteWeight * (1 << SecAggConfig.WEIGHT_BITS));
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

  /** Σ wᵢ, the last value of the sum. */
  double totalWeight(int[] sum) {
    return Integer.toUnsignedLong(sum[sum.length - 1]) / (double) (1 << SecAggConfig.WEIGHT_BITS);
  }
}
