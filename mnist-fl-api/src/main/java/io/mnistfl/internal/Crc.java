package io.mnistfl.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The CRC-32C trailer of the library's binary formats: the last 4 bytes, little-endian, cover all
 * before them. Not exported.
 */
public final class Crc {
  private Crc() {}

  /**
   * The CRC-32C of the first {@code length} bytes.
   *
   * @param bytes the bytes
   * @param length how many of them
   * @return the checksum
   */
  public static int of(byte[] bytes, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, length);
    return (int) crc.getValue();
  }

  /**
   * The checksum stored in the trailer.
   *
   * @param bytes a whole message or file, at least 4 bytes
   * @return its last 4 bytes, little-endian
   */
  public static int stored(byte[] bytes) {
    return ByteBuffer.wrap(bytes, bytes.length - 4, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
  }
}
