package io.mnistfl.fl.secagg;

import io.mnistfl.fl.wire.MessageFormatException;

/**
 * The parameters of one round that every site must share with its neighbours: the threshold t, the
 * scale the updates are quantized on and the digest of the global weights they train from. The
 * server sends them to each site, and each site signs them into its advertisement and refuses a
 * neighbour that advertises others: a server that gave one site a scale of its own could read that
 * site's update out of the sum, and one that gave one site other global weights than the rest (the
 * model inconsistency attack of Pasquini et al., CCS 2022) could make the others' updates vanish
 * from the sum, or stand apart in it. A site then refuses a fit request whose global weights are
 * not the ones it advertised.
 *
 * @param threshold t
 * @param bits b
 * @param clipRange r
 * @param exampleCap the example count that weighs 1
 * @param clipNorm S under DP-FedAvg, else NaN
 * @param global the SHA-256 digest of the global weights, {@link Crypto#digest}
 */
record RoundParameters(
    int threshold, int bits, double clipRange, int exampleCap, double clipNorm, byte[] global) {

  void write(Body.Writer w) {
    w.u16(threshold).i32(bits).f64(clipRange).i32(exampleCap).f64(clipNorm).fixed(global);
  }

  static RoundParameters read(Body.Reader r) throws MessageFormatException {
    return new RoundParameters(r.u16(), r.i32(), r.f64(), r.i32(), r.f64(), r.fixed(32));
  }

  /**
   * Equal parameters: the doubles compared as Double.compare does (NaN equals NaN), the digest by
   * value.
   */
  @Override
  public boolean equals(Object o) {
    return o instanceof RoundParameters p
        && threshold == p.threshold
        && bits == p.bits
        && Double.compare(clipRange, p.clipRange) == 0
        && exampleCap == p.exampleCap
        && Double.compare(clipNorm, p.clipNorm) == 0
        && java.util.Arrays.equals(global, p.global);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(threshold, bits, clipRange, exampleCap, clipNorm)
        + 31 * java.util.Arrays.hashCode(global);
  }

  /** Their bytes, as a signature covers them. */
  byte[] bytes() {
    Body.Writer w = new Body.Writer(64);
    write(w);
    return w.body();
  }

  /**
   * Why a site with {@code neighbours} neighbours must refuse these parameters, or empty: t below 2
   * or not above half of k, or a scale out of range.
   */
  String refusal(int neighbours) {
    if (threshold < 2 || 2 * threshold <= neighbours || threshold > neighbours) {
      return "a threshold of "
          + threshold
          + " for "
          + neighbours
          + " neighbours: it must be at least 2 and more than half of them, or a server"
          + " lying about dropouts could rebuild both of its secrets";
    }
    if (bits < 1
        || bits > 24
        || !(clipRange > 0 && Double.isFinite(clipRange))
        || exampleCap < 1
        || !(Double.isNaN(clipNorm) || clipNorm > 0 && Double.isFinite(clipNorm))) {
      return "parameters out of range: " + this;
    }
    return "";
  }

  Quantizer quantizer() {
    return Quantizer.of(bits, clipRange, exampleCap, clipNorm);
  }

  @Override
  public String toString() {
    return "t = "
        + threshold
        + ", "
        + bits
        + " bits, clip "
        + clipRange
        + ", example cap "
        + exampleCap
        + (Double.isNaN(clipNorm) ? "" : ", clip norm " + clipNorm)
        + ", global weights "
        + java.util.HexFormat.of().formatHex(global, 0, 4)
        + "…";
  }
}
