package io.mnistfl.testing;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * What every fuzz target checks: the code under test either succeeds or throws one of its
 * documented exceptions, and allocates no more than a cap while doing so (Jazzer watches for
 * crashes, not for memory).
 */
public final class Fuzzing {
  /**
   * Allocation any input may cost on top of its cap: class loading, lambdas and exception stack
   * traces on first use. Far below the gigabytes a trusted header would cost.
   */
  public static final long OVERHEAD_BYTES = 16L << 20;

  /** The code under test. */
  public interface Body {
    void run() throws Exception;
  }

  private Fuzzing() {}

  /**
   * Runs {@code body}, failing on any exception that is not one of {@code documented} and on more
   * than {@code maxBytes} plus {@link #OVERHEAD_BYTES} allocated by this thread.
   */
  @SafeVarargs
  public static void expectOnly(
      long maxBytes, Body body, Class<? extends Exception>... documented) {
    long before = Allocation.bytes();
    try {
      body.run();
    } catch (Exception e) {
      boolean expected = false;
      for (Class<? extends Exception> type : documented) {
        expected |= type.isInstance(e);
      }
      if (!expected) {
        throw new AssertionError("undocumented exception " + e, e);
      }
    }
    long used = Allocation.bytes() - before;
    if (used > maxBytes + OVERHEAD_BYTES) {
      throw new AssertionError("allocated " + used + " bytes, more than the cap of " + maxBytes);
    }
  }

  /**
   * A copy of {@code bytes} whose last 4 bytes are the little-endian CRC-32C of the others, so that
   * mutations reach the parser behind this library's checksums.
   */
  public static byte[] withValidCrc(byte[] bytes) {
    if (bytes.length < 4) {
      return bytes;
    }
    byte[] copy = bytes.clone();
    CRC32C crc = new CRC32C();
    crc.update(copy, 0, copy.length - 4);
    ByteBuffer.wrap(copy, copy.length - 4, 4)
        .order(ByteOrder.LITTLE_ENDIAN)
        .putInt((int) crc.getValue());
    return copy;
  }
}
