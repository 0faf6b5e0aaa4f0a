package io.mnistfl.fl.secagg;

import io.mnistfl.internal.Require;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The parameters of secure aggregation.
 *
 * @param neighbours k, the sites each site shares its secrets with (0: 2·⌈log2 n⌉; odd k is rounded
 *     up; at most n − 1, for n sites in the round, and 256; n − 1, a complete graph, whenever k
 *     would reach it). Each site reveals nothing unless its k is at least min(m − 1, 2·⌈log2 m⌉)
 *     for the m sites it is told sent their input, so the server abandons a round of n sites whose
 *     k would be below min(n − 1, 2·⌈log2 n⌉)
 * @param threshold t, the shares that rebuild a secret (0: ⌊k/2⌋ + 1); at least 2 and more than
 *     k/2, so that no story about dropouts gets both of a site's secrets out of its honest
 *     neighbours; a site's secrets are safe unless t of its k neighbours collude with the server
 * @param bits b, the bits each update value is quantized to; with n sites, b + ⌈log2 n⌉ must fit 32
 *     so that the sum cannot wrap
 * @param clipRange r, each value (a site's weighted update) is clipped to [−r, r] before
 *     quantizing; under DP-FedAvg the clip norm takes its place
 * @param exampleCap the most examples a site's update is weighted by; heavier sites weigh as this
 *     many
 */
public record SecAggConfig(
    int neighbours, int threshold, int bits, double clipRange, int exampleCap) {

  /**
   * The most neighbours a site shares with: dealing costs O(k·t) field operations, and 2⌈log2 n⌉
   * stays below this for any n a federation can have.
   */
  static final int MAX_NEIGHBOURS = 256;

  /**
   * Checks the ranges.
   *
   * @param neighbours k, or 0
   * @param threshold t, or 0
   * @param bits b
   * @param clipRange r
   * @param exampleCap the weighting cap
   */
  public SecAggConfig {
    if (neighbours > MAX_NEIGHBOURS) {
      throw new IllegalArgumentException(
          "neighbours must be at most " + MAX_NEIGHBOURS + ", was " + neighbours);
    }
    if (neighbours < 0
        || threshold < 0
        || threshold > 0 && neighbours > 0 && threshold > neighbours) {
      throw new IllegalArgumentException(
          "need 0 <= threshold <= neighbours, was threshold " + threshold + " of " + neighbours);
    }
    if (threshold == 1) {
      throw new IllegalArgumentException(
          "threshold must be at least 2, was 1: one share would rebuild a site's secrets");
    }
    int evenK = neighbours + (neighbours & 1);
    if (threshold > 0 && neighbours > 0 && 2 * threshold <= evenK) {
      throw new IllegalArgumentException(
          "threshold "
              + threshold
              + " of "
              + evenK
              + " neighbours"
              + (evenK == neighbours ? "" : " (" + neighbours + " rounded up to even)")
              + " must be more than half of them, or a server lying about dropouts could"
              + " rebuild both secrets of a site");
    }
    if (bits < 1 || bits > 24) {
      throw new IllegalArgumentException("bits must be in [1, 24], was " + bits);
    }
    Require.positive("clipRange", clipRange);
    Require.atLeastOne("exampleCap", exampleCap);
  }

  /**
   * Automatic k and t, 16 bits, values clipped to [−1, 1], weights capped at 10,000 examples.
   *
   * @return the defaults
   */
  public static SecAggConfig defaults() {
    return new SecAggConfig(0, 0, 16, 1.0, 10_000);
  }

  /**
   * These parameters with {@code k} neighbours and threshold {@code t} (0 for automatic).
   *
   * @param k the neighbours
   * @param t the threshold
   * @return the config
   */
  public SecAggConfig withNeighbourhood(int k, int t) {
    return new SecAggConfig(k, t, bits, clipRange, exampleCap);
  }

  /**
   * These parameters with {@code b} bits per value.
   *
   * @param b the bits
   * @return the config
   */
  public SecAggConfig withBits(int b) {
    return new SecAggConfig(neighbours, threshold, b, clipRange, exampleCap);
  }

  /**
   * These parameters with values clipped to [−r, r].
   *
   * @param r the range
   * @return the config
   */
  public SecAggConfig withClipRange(double r) {
    return new SecAggConfig(neighbours, threshold, bits, r, exampleCap);
  }

  /**
   * These parameters with a site weighing min(examples, {@code n}) / n.
   *
   * @param n the example count that weighs 1
   * @return the config
   */
  public SecAggConfig withExampleCap(int n) {
    return new SecAggConfig(neighbours, threshold, bits, clipRange, n);
  }

  /**
   * The parameters by name, for provenance and logs.
   *
   * @return the parameters
   */
  public Map<String, String> parameters() {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("secureAggregation", "SecAgg+");
    p.put("neighbours", neighbours == 0 ? "2*ceil(log2 n)" : String.valueOf(neighbours));
    p.put("threshold", threshold == 0 ? "floor(k/2)+1" : String.valueOf(threshold));
    p.put("bits", String.valueOf(bits));
    p.put("clipRange", String.valueOf(clipRange));
    p.put("exampleCap", String.valueOf(exampleCap));
    return p;
  }

  /** k for a round of {@code n} sites: even, as the graph is symmetric, unless all n − 1. */
  int neighboursFor(int n) {
    int auto = 2 * (32 - Integer.numberOfLeadingZeros(Math.max(1, n - 1)));
    int k = neighbours > 0 ? neighbours + (neighbours & 1) : auto;
    return Math.max(0, Math.min(Math.min(n - 1, MAX_NEIGHBOURS), k));
  }

  /**
   * The fewest neighbours a site of a round of {@code n} sites may have, min(n − 1, 2⌈log2 n⌉): the
   * default k. A site checks it against the survivor set it signed before it reveals anything,
   * since the graph and its k are the server's to choose.
   */
  static int minNeighbours(int n) {
    if (n < 2) {
      return 0;
    }
    return Math.min(n - 1, 2 * (32 - Integer.numberOfLeadingZeros(n - 1)));
  }

  /** t for a neighbourhood of {@code k}: a majority of it. */
  int thresholdFor(int k) {
    return threshold > 0 ? threshold : k / 2 + 1;
  }

  /** Why {@code n} sites cannot be summed in 32 bits with these bits, or empty. */
  String overflow(int n) {
    // n values of at most 2^b - 1 each.
    long values = (long) n * ((1L << bits) - 1);
    if (values > 0xFFFF_FFFFL) {
      return n + " sites of " + bits + "-bit values could overflow the 32-bit sum";
    }
    return "";
  }
}
