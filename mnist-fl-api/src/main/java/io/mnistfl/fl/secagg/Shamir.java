package io.mnistfl.fl.secagg;

import java.math.BigInteger;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Shamir's secret sharing over the prime field of p = 2^521 − 1, larger than the 256-bit secrets it
 * splits: any {@code t} shares give the secret back, fewer say nothing of it.
 */
final class Shamir {
  /** The Mersenne prime 2^521 − 1. */
  static final BigInteger P = BigInteger.ONE.shiftLeft(521).subtract(BigInteger.ONE);

  /** Bytes of a share's value. */
  static final int SHARE_BYTES = 66;

  private Shamir() {}

  /**
   * Shares of {@code secret} at x = 1 … {@code count}, any {@code threshold} of which rebuild it.
   */
  static List<BigInteger> split(byte[] secret, int threshold, int count, SecureRandom random) {
    if (threshold < 1 || threshold > count) {
      throw new IllegalArgumentException("threshold " + threshold + " of " + count + " shares");
    }
    BigInteger[] coefficients = new BigInteger[threshold];
    coefficients[0] = new BigInteger(1, secret);
    for (int i = 1; i < threshold; i++) {
      coefficients[i] = new BigInteger(P.bitLength() + 64, random).mod(P);
    }
    List<BigInteger> shares = new ArrayList<>(count);
    for (int x = 1; x <= count; x++) {
      BigInteger bx = BigInteger.valueOf(x);
      BigInteger y = BigInteger.ZERO;
      for (int i = threshold - 1; i >= 0; i--) {
        y = y.multiply(bx).add(coefficients[i]).mod(P);
      }
      shares.add(y);
    }
    return shares;
  }

  /**
   * The secret, as {@code length} bytes, from shares by their x (Lagrange at 0); empty when the
   * shares cannot belong to a secret of that length.
   */
  static Optional<byte[]> combine(Map<Integer, BigInteger> shares, int length) {
    BigInteger secret = atZero(shares);
    if (secret.bitLength() > 8 * length) {
      return Optional.empty();
    }
    byte[] raw = secret.toByteArray();
    byte[] out = new byte[length];
    int copy = Math.min(length, raw.length);
    System.arraycopy(raw, raw.length - copy, out, length - copy, copy);
    return Optional.of(out);
  }

  /**
   * The value at 0 of the polynomial through {@code shares} (distinct x from 1 to 2^16), by
   * Lagrange: Σ yᵢ · Π_{j≠i} xⱼ / (xⱼ − xᵢ), with one modular inverse for all the denominators
   * (Montgomery's trick), since rebuilding may try many subsets of the shares.
   */
  static BigInteger atZero(Map<Integer, BigInteger> shares) {
    int t = shares.size();
    long[] xs = new long[t];
    BigInteger[] ys = new BigInteger[t];
    int i = 0;
    for (Map.Entry<Integer, BigInteger> p : shares.entrySet()) {
      xs[i] = p.getKey();
      ys[i++] = p.getValue();
    }
    BigInteger[] numerators = new BigInteger[t];
    BigInteger[] denominators = new BigInteger[t];
    for (i = 0; i < t; i++) {
      BigInteger num = BigInteger.ONE;
      BigInteger den = BigInteger.ONE;
      for (int j = 0; j < t; j++) {
        if (j != i) {
          num = num.multiply(BigInteger.valueOf(xs[j]));
          den = den.multiply(BigInteger.valueOf(xs[j] - xs[i]));
        }
      }
      numerators[i] = num.mod(P);
      denominators[i] = den.mod(P);
    }
    // prefix[i] = den[0] · … · den[i − 1]; one inverse of the whole product, then back down.
    BigInteger[] prefix = new BigInteger[t + 1];
    prefix[0] = BigInteger.ONE;
    for (i = 0; i < t; i++) {
      prefix[i + 1] = prefix[i].multiply(denominators[i]).mod(P);
    }
    BigInteger inverse = prefix[t].modInverse(P);
    BigInteger sum = BigInteger.ZERO;
    for (i = t - 1; i >= 0; i--) {
      BigInteger inverseOfThis = inverse.multiply(prefix[i]).mod(P);
      inverse = inverse.multiply(denominators[i]).mod(P);
      sum = sum.add(ys[i].multiply(numerators[i]).mod(P).multiply(inverseOfThis));
    }
    return sum.mod(P);
  }

  /**
   * The polynomial of degree < t through t shares, in Lagrange form: its value at 0 is the secret,
   * its value at another x the share that x should hold.
   */
  static final class Polynomial {
    private final long[] xs;
    private final BigInteger[] weighted;

    /** The polynomial through {@code points}, by x; the weights of its basis are made once. */
    Polynomial(Map<Integer, BigInteger> points) {
      int t = points.size();
      xs = new long[t];
      BigInteger[] ys = new BigInteger[t];
      int i = 0;
      for (Map.Entry<Integer, BigInteger> p : points.entrySet()) {
        xs[i] = p.getKey();
        ys[i++] = p.getValue();
      }
      weighted = new BigInteger[t];
      for (i = 0; i < t; i++) {
        BigInteger denominator = BigInteger.ONE;
        for (int j = 0; j < t; j++) {
          if (j != i) {
            denominator = denominator.multiply(BigInteger.valueOf(xs[i] - xs[j])).mod(P);
          }
        }
        weighted[i] = ys[i].multiply(denominator.modInverse(P)).mod(P);
      }
    }

    /** The value at {@code x}. */
    BigInteger at(long x) {
      int t = xs.length;
      BigInteger[] suffix = new BigInteger[t + 1];
      suffix[t] = BigInteger.ONE;
      for (int j = t - 1; j >= 0; j--) {
        suffix[j] = suffix[j + 1].multiply(BigInteger.valueOf(x - xs[j])).mod(P);
      }
      BigInteger prefix = BigInteger.ONE;
      BigInteger sum = BigInteger.ZERO;
      for (int i = 0; i < t; i++) {
        sum = sum.add(weighted[i].multiply(prefix).mod(P).multiply(suffix[i + 1]));
        prefix = prefix.multiply(BigInteger.valueOf(x - xs[i])).mod(P);
      }
      return sum.mod(P);
    }
  }

  /** A share's value as {@value #SHARE_BYTES} big-endian bytes. */
  static byte[] bytes(BigInteger share) {
    byte[] raw = share.toByteArray();
    byte[] out = new byte[SHARE_BYTES];
    int copy = Math.min(raw.length, SHARE_BYTES);
    System.arraycopy(raw, raw.length - copy, out, SHARE_BYTES - copy, copy);
    return out;
  }

  /** A share's value from its bytes; refuses a value outside the field. */
  static BigInteger value(byte[] bytes) {
    BigInteger v = new BigInteger(1, bytes);
    if (v.compareTo(P) >= 0) {
      throw new IllegalArgumentException("a share outside the field");
    }
    return v;
  }
}
