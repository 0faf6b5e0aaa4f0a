package io.mnistfl.fl.wire;

import io.mnistfl.internal.Crc;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The envelope of every message this library puts on a wire: {@code magic(4) version(u16) body
 * crc32c(u32)}, little-endian, the CRC over all bytes before it. {@link Messages} and the
 * secure-aggregation stages fill the body; a reader checks length, magic, version and CRC before it
 * reads a field, and every length inside a body against the bytes that remain.
 */
public final class Frame {
  /** The envelope version written and read. */
  public static final int VERSION = 3;

  private Frame() {}

  /**
   * A buffer for a {@code body}-byte message of kind {@code magic}, header written.
   *
   * @param magic the message's 4-character kind
   * @param body the body's length in bytes
   * @return the buffer, positioned at the body
   */
  public static ByteBuffer start(String magic, int body) {
    ByteBuffer b = ByteBuffer.allocate(4 + 2 + body + 4).order(ByteOrder.LITTLE_ENDIAN);
    return b.put(magic(magic)).putShort((short) VERSION);
  }

  /**
   * The message: the buffer's bytes with the CRC appended; the buffer must be full but for it.
   *
   * @param b a buffer from {@link #start}, its body written
   * @return the message's bytes
   */
  public static byte[] finish(ByteBuffer b) {
    b.putInt(Crc.of(b.array(), b.position()));
    if (b.hasRemaining()) {
      throw new IllegalStateException(b.remaining() + " bytes of the message left unwritten");
    }
    return b.array();
  }

  /**
   * The 4-character kind of a message, if it is long enough to have one.
   *
   * @param bytes a message
   * @return its kind, or empty when it has fewer than 4 bytes
   */
  public static Optional<String> kind(byte[] bytes) {
    return bytes.length < 4
        ? Optional.empty()
        : Optional.of(new String(bytes, 0, 4, StandardCharsets.ISO_8859_1));
  }

  /**
   * The body of a message of kind {@code magic}, its envelope checked.
   *
   * @param bytes the message
   * @param magic the kind expected
   * @param what names the message in errors
   * @return the body, positioned at its start
   * @throws MessageFormatException when it is too short, of another kind or version, or corrupt
   */
  public static ByteBuffer open(byte[] bytes, String magic, String what)
      throws MessageFormatException {
    if (bytes.length < 10) {
      throw new MessageFormatException(what + " too short: " + bytes.length + " bytes");
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    byte[] m = new byte[4];
    b.get(m);
    if (!java.util.Arrays.equals(m, magic(magic))) {
      throw new MessageFormatException(
          "not a "
              + what
              + " message (kind "
              + kind(bytes).orElse("?").replaceAll("[^ -~]", "?")
              + ", expected "
              + magic
              + ")");
    }
    int version = Short.toUnsignedInt(b.getShort());
    if (version != VERSION) {
      throw new MessageFormatException(
          what
              + " format version "
              + version
              + " is not supported (this reader knows "
              + VERSION
              + ")");
    }
    if (Crc.stored(bytes) != Crc.of(bytes, bytes.length - 4)) {
      throw new MessageFormatException(what + " checksum mismatch (corrupted in transit)");
    }
    return b.limit(bytes.length - 4);
  }

  /**
   * Fails unless the body has been read to its end.
   *
   * @param b the body
   * @param what names the message in errors
   * @throws MessageFormatException when bytes remain
   */
  public static void end(ByteBuffer b, String what) throws MessageFormatException {
    if (b.hasRemaining()) {
      throw new MessageFormatException(what + ": " + b.remaining() + " unexpected trailing bytes");
    }
  }

  /**
   * Bytes a {@link #putString} of {@code s} takes.
   *
   * @param s the string
   * @return its size in bytes
   */
  public static int stringSize(String s) {
    return 2 + utf8(s).length;
  }

  /**
   * Writes {@code s} as u16 length and UTF-8 bytes.
   *
   * @param b the buffer to write into
   * @param s the string, at most 65535 bytes in UTF-8
   */
  public static void putString(ByteBuffer b, String s) {
    byte[] bytes = utf8(s);
    b.putShort((short) bytes.length).put(bytes);
  }

  /**
   * Reads a string written by {@link #putString}, its length checked against what remains.
   *
   * @param b the buffer to read from
   * @return the string
   */
  public static String getString(ByteBuffer b) {
    int length = Short.toUnsignedInt(b.getShort());
    if (length > b.remaining()) {
      throw new BufferUnderflowException();
    }
    byte[] s = new byte[length];
    b.get(s);
    return new String(s, StandardCharsets.UTF_8);
  }

  /**
   * Reads a u32 length and that many bytes, the length checked against what remains.
   *
   * @param b the buffer to read from
   * @param what names the field in errors
   * @return the bytes
   * @throws MessageFormatException when the length exceeds the bytes left
   */
  public static byte[] getBytes(ByteBuffer b, String what) throws MessageFormatException {
    int length = b.getInt();
    if (length < 0 || length > b.remaining()) {
      throw new MessageFormatException(
          what
              + ": length "
              + Integer.toUnsignedString(length)
              + " exceeds the "
              + b.remaining()
              + " bytes left");
    }
    byte[] out = new byte[length];
    b.get(out);
    return out;
  }

  private static byte[] utf8(String s) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    if (bytes.length > 0xFFFF) {
      throw new IllegalArgumentException("string longer than 65535 bytes");
    }
    return bytes;
  }

  private static byte[] magic(String magic) {
    byte[] m = magic.getBytes(StandardCharsets.ISO_8859_1);
    if (m.length != 4) {
      throw new IllegalArgumentException("a kind has 4 characters: " + magic);
    }
    return m;
  }
}
