package io.mnistfl.model;

import io.mnistfl.internal.Crc;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The documented, versioned byte format of {@link Weights}, so that any transport can carry them.
 *
 * <p>Version 1, all integers little-endian:
 *
 * <pre>
 *   bytes 0-3   magic "MFLW"
 *   u16         format version (1)
 *   u32         number of arrays N
 *   N times:
 *     u16       name length L, then L bytes of UTF-8 name
 *     u8        rank R, then R × u32 dimensions
 *     f32 × (product of dimensions)   values, row-major
 *   u32         CRC-32C of every preceding byte
 * </pre>
 */
public final class WeightsCodec {
  /** "MFLW" read as a little-endian int. */
  private static final int MAGIC = 0x574C464D;

  /** The version this codec writes. */
  public static final int VERSION = 1;

  private static final int MAX_RANK = 8;

  private WeightsCodec() {}

  /**
   * Encodes {@code weights}.
   *
   * @param weights the weights
   * @return the bytes
   */
  public static byte[] encode(Weights weights) {
    int size = 4 + 2 + 4 + 4;
    List<byte[]> names = new ArrayList<>();
    for (Weights.NamedArray a : weights.arrays()) {
      byte[] name = a.name().getBytes(StandardCharsets.UTF_8);
      if (name.length > 0xFFFF) {
        throw new IllegalArgumentException("weight name longer than 65535 bytes: " + a.name());
      }
      names.add(name);
      size += 2 + name.length + 1 + 4 * a.shapeView().length + 4 * a.values().length;
    }
    ByteBuffer buf = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    buf.putInt(MAGIC).putShort((short) VERSION).putInt(weights.arrays().size());
    for (int i = 0; i < names.size(); i++) {
      Weights.NamedArray a = weights.arrays().get(i);
      buf.putShort((short) names.get(i).length).put(names.get(i));
      buf.put((byte) a.shapeView().length);
      for (int d : a.shapeView()) {
        buf.putInt(d);
      }
      buf.asFloatBuffer().put(a.values());
      buf.position(buf.position() + 4 * a.values().length);
    }
    buf.putInt(Crc.of(buf.array(), buf.position()));
    return buf.array();
  }

  /**
   * Decodes bytes written by {@link #encode}.
   *
   * @param bytes bytes written by {@link #encode}
   * @return the weights
   * @throws WeightsFormatException if the bytes are truncated, corrupt (checksum), of an unknown
   *     version or otherwise malformed; the message says which
   */
  public static Weights decode(byte[] bytes) throws WeightsFormatException {
    if (bytes.length < 14) {
      throw new WeightsFormatException(
          "weights message too short: " + bytes.length + " bytes, at least 14 expected");
    }
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (buf.getInt() != MAGIC) {
      throw new WeightsFormatException("not a weights message: magic bytes are not \"MFLW\"");
    }
    int version = Short.toUnsignedInt(buf.getShort());
    if (version != VERSION) {
      throw new WeightsFormatException(
          "weights format version "
              + version
              + " is not supported (this reader knows "
              + VERSION
              + ")");
    }
    int stored = Crc.stored(bytes);
    int computed = Crc.of(bytes, bytes.length - 4);
    if (stored != computed) {
      throw new WeightsFormatException(
          String.format(
              "weights checksum mismatch: stored %08x, computed %08x (corrupted)",
              stored, computed));
    }
    ByteBuffer body =
        buf.slice(buf.position(), bytes.length - 4 - buf.position()).order(ByteOrder.LITTLE_ENDIAN);
    try {
      int count = body.getInt();
      if (count < 0 || count > body.remaining()) {
        throw new WeightsFormatException("implausible array count " + count);
      }
      List<Weights.NamedArray> arrays = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        byte[] name = new byte[Short.toUnsignedInt(body.getShort())];
        body.get(name);
        int rank = Byte.toUnsignedInt(body.get());
        if (rank > MAX_RANK) {
          throw new WeightsFormatException("array " + i + ": rank " + rank + " > " + MAX_RANK);
        }
        int[] shape = new int[rank];
        long n = 1;
        for (int d = 0; d < rank; d++) {
          shape[d] = body.getInt();
          if (shape[d] < 0) {
            throw new WeightsFormatException("array " + i + ": negative dimension " + shape[d]);
          }
          try {
            n = Math.multiplyExact(n, shape[d]);
          } catch (ArithmeticException e) {
            throw new WeightsFormatException(
                "array " + i + ": the product of its dimensions " + "overflows");
          }
        }
        if (n > body.remaining() / 4) {
          throw new WeightsFormatException(
              "array "
                  + i
                  + " ("
                  + new String(name, StandardCharsets.UTF_8)
                  + ") declares "
                  + n
                  + " values but only "
                  + body.remaining() / 4
                  + " remain");
        }
        float[] values = new float[(int) n];
        body.asFloatBuffer().get(values);
        body.position(body.position() + 4 * values.length);
        arrays.add(new Weights.NamedArray(new String(name, StandardCharsets.UTF_8), shape, values));
      }
      if (body.hasRemaining()) {
        throw new WeightsFormatException(body.remaining() + " unexpected bytes after the arrays");
      }
      return new Weights(arrays);
    } catch (BufferUnderflowException e) {
      throw new WeightsFormatException("weights message truncated inside its header fields");
    } catch (IllegalArgumentException e) {
      throw new WeightsFormatException("malformed weights: " + e.getMessage());
    }
  }
}
