package io.mnistfl.fl.secagg;

import io.mnistfl.fl.wire.Frame;
import io.mnistfl.fl.wire.MessageFormatException;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The bodies of secure aggregation's messages, written field by field and read back with every
 * count and length checked against the bytes that remain, inside the library's {@link Frame}.
 */
final class Body {
  private Body() {}

  /** Writes a body, then frames it. */
  static final class Writer {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final DataOutputStream out = new DataOutputStream(bytes);
    private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

    Writer u16(int v) {
      if (v < 0 || v > 0xFFFF) {
        throw new IllegalArgumentException("a count of " + v + " does not fit 16 bits");
      }
      return raw(scratch.clear().putShort((short) v), 2);
    }

    Writer i32(int v) {
      return raw(scratch.clear().putInt(v), 4);
    }

    Writer f64(double v) {
      return raw(scratch.clear().putDouble(v), 8);
    }

    private Writer raw(ByteBuffer b, int n) {
      try {
        out.write(b.array(), 0, n);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return this;
    }

    Writer bytes(byte[] v) {
      i32(v.length);
      try {
        out.write(v);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      return this;
    }

    Writer fixed(byte[] v) {
      try {
        out.write(v);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
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
      ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
      b.asIntBuffer().put(v);
      return fixed(b.array());
    }

    byte[] body() {
      return bytes.toByteArray();
    }

    byte[] frame(String kind) {
      byte[] body = body();
      return Frame.finish(Frame.start(kind, body.length).put(body));
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
