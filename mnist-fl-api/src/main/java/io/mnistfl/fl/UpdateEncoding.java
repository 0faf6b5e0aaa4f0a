package io.mnistfl.fl;

/**
 * How sites send their updates back ({@link
 * io.mnistfl.fl.server.StandardStrategy.Builder#updateEncoding}, carried to them in each {@link
 * RoundConfig}).
 */
public enum UpdateEncoding {
  /** The new weights as 32-bit floats, exactly. */
  FULL,
  /**
   * The difference from the global weights, each array as its minimum and maximum and one byte per
   * value between them, rounded up or down at random in proportion to the remainder, so the
   * server's average is unbiased: about a quarter of the size, each value off by at most (max −
   * min) / 255.
   */
  QUANTIZED_8BIT
}
