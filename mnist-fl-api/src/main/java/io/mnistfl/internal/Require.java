package io.mnistfl.internal;

import java.time.Duration;

/**
 * Range checks of settings and constructor arguments. Each failure names the value the caller set
 * and the range it must lie in, in one wording across the library. Not exported.
 */
public final class Require {
  private Require() {}

  /**
   * At least 1: a count.
   *
   * @param name names the value in the error
   * @param value the value
   * @throws IllegalArgumentException when {@code value < 1}
   */
  public static void atLeastOne(String name, int value) {
    if (value < 1) {
      throw new IllegalArgumentException(name + " must be >= 1, was " + value);
    }
  }

  /**
   * Finite and {@code > 0}.
   *
   * @param name names the value in the error
   * @param value the value
   * @throws IllegalArgumentException when it is not
   */
  public static void positive(String name, double value) {
    if (!(value > 0 && Double.isFinite(value))) {
      throw new IllegalArgumentException(name + " must be > 0, was " + value);
    }
  }

  /**
   * Longer than zero: a timeout.
   *
   * @param name names the value in the error
   * @param value the value
   * @throws IllegalArgumentException when it is zero or negative
   */
  public static void positive(String name, Duration value) {
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + " must be > 0, was " + value);
    }
  }

  /**
   * Finite and {@code >= 0}.
   *
   * @param name names the value in the error
   * @param value the value
   * @throws IllegalArgumentException when it is not
   */
  public static void nonNegative(String name, double value) {
    if (!(value >= 0 && Double.isFinite(value))) {
      throw new IllegalArgumentException(name + " must be >= 0, was " + value);
    }
  }

  /**
   * (0, 1]: a share or a multiplicative decay.
   *
   * @param name names the value in the error
   * @param value the value
   * @throws IllegalArgumentException when it is not in (0, 1]
   */
  public static void inUnitInterval(String name, double value) {
    if (!(value > 0 && value <= 1)) {
      throw new IllegalArgumentException(name + " must be in (0, 1], was " + value);
    }
  }

  /**
   * [0, 1): a moment's decay rate.
   *
   * @param name names the value in the error
   * @param value the value
   * @throws IllegalArgumentException when it is not in [0, 1)
   */
  public static void decayRate(String name, double value) {
    if (!(value >= 0 && value < 1)) {
      throw new IllegalArgumentException(name + " must be in [0, 1), was " + value);
    }
  }
}
