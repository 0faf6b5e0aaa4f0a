package io.mnistfl.fl.secagg;

import io.mnistfl.fl.wire.Frame;
import io.mnistfl.fl.wire.MessageFormatException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The bodies of secure aggregation's messages, written field by field and read back with every
 * count and length checked against the bytes that remain, inside the library's {@link Frame}.
 */
final class Body {
  private Body() {}

  /** Writes a body, then frames it. */
  static final class Writer {
    private static final VarHandle SHORT =
        MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT =
        MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG =
        MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private byte[] buffer;
    private int size;

    Writer() {
      this(256);
    }

    /** A writer with room for {@code capacity} bytes before it grows. */
    Writer(int capacity) {
      buffer = new byte[capacity];
    }

    /** Makes room for {@code n} bytes; returns where they go. Call before reading buffer. */
    private int reserve(long n) {
      if (size + n > buffer.length) {
        long grown = Math.max(size + n, 2L * buffer.length);
        if (grown > Integer.MAX_VALUE - 64) {
          throw new IllegalArgumentException("a message of " + grown + " bytes");
        }
        buffer = Arrays.copyOf(buffer, (int) grown);
      }
      int at = size;
      size += (int) n;
      return at;
    }

    Writer u16(int v) {
      if (v < 0 || v > 0xFFFF) {
        throw new IllegalArgumentException("a count of " + v + " does not fit 16 bits");
      }
      int at = reserve(2);
      SHORT.set(buffer, at, (short) v);
      return this;
    }

    Writer i32(int v) {
      int at = reserve(4);
      INT.set(buffer, at, v);
      return this;
    }

    Writer f64(double v) {
      int at = reserve(8);
      LONG.set(buffer, at, Double.doubleToRawLongBits(v));
      return this;
    }

    Writer bytes(byte[] v) {
      return i32(v.length).fixed(v);
    }

    Writer fixed(byte[] v) {
      int at = reserve(v.length);
      System.arraycopy(v, 0, buffer, at, v.length);
      return this;
    }

    Writer string(String v) {
      return bytes(v.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    Writer strings(List<String> v) {
      u16(v.size());
      v.forEach(this::string);
      return this;
    }

    Writer ints(int[] v) {
      i32(v.length);
      int at = reserve(4L * v.length);
      for (int i = 0; i < v.length; i++) {
        INT.set(buffer, at + 4 * i, v[i]);
      }
      return this;
    }

    byte[] body() {
      return Arrays.copyOf(buffer, size);
    }

    byte[] frame(String kind) {
      return Frame.finish(Frame.start(kind, size).put(buffer, 0, size));
    }
  }

  /** Reads a framed body; every read fails with a {@link MessageFormatException}. */
  static final class Reader {
    private final ByteBuffer b;
    private final String what;

    Reader(byte[] message, String kind, String what) throws MessageFormatException {
      this.b = Frame.open(message, kind, what);
      this.what = what;
    }

    private Reader(ByteBuffer b, String what) {
      this.b = b;
      this.what = what;
    }

    /** A reader of the bytes of {@code body}, unframed. */
    static Reader of(byte[] body, String what) {
      return new Reader(ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN), what);
    }

    int u16() throws MessageFormatException {
      need(2);
      return Short.toUnsignedInt(b.getShort());
    }

    int i32() throws MessageFormatException {
      need(4);
      return b.getInt();
    }

    double f64() throws MessageFormatException {
      need(8);
      return b.getDouble();
    }

    byte[] bytes(int max) throws MessageFormatException {
      int n = i32();
      if (n < 0 || n > max) {
        throw new MessageFormatException(what + ": a field of " + n + " bytes, at most " + max);
      }
      return fixed(n);
    }

    byte[] fixed(int n) throws MessageFormatException {
      need(n);
      byte[] out = new byte[n];
      b.get(out);
      return out;
    }

    String string() throws MessageFormatException {
      return new String(bytes(256), java.nio.charset.StandardCharsets.UTF_8);
    }

    List<String> strings(int max) throws MessageFormatException {
      int n = u16();
      if (n > max) {
        throw new MessageFormatException(what + ": " + n + " ids, at most " + max);
      }
      List<String> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        out.add(string());
      }
      return out;
    }

    int[] ints(int expected) throws MessageFormatException {
      int n = i32();
      if (n != expected) {
        throw new MessageFormatException(what + ": " + n + " values, expected " + expected);
      }
      need(4L * n);
      int[] out = new int[n];
      b.asIntBuffer().get(out);
      b.position(b.position() + 4 * n);
      return out;
    }

    void end() throws MessageFormatException {
      Frame.end(b, what);
    }

    private void need(long n) throws MessageFormatException {
      if (n > b.remaining()) {
        throw new MessageFormatException(what + ": truncated");
      }
    }
  }

  /** Concatenates fields, each length-prefixed, into the bytes a signature covers. */
  static byte[] signed(Object... fields) {
    Writer w = new Writer();
    for (Object f : fields) {
      if (f instanceof byte[] bytes) {
        w.bytes(bytes);
      } else if (f instanceof Integer i) {
        w.i32(i);
      } else {
        w.string(String.valueOf(f));
      }
    }
    return w.body();
  }
}
