package io.mnistfl.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.StringJoiner;

/**
 * NumPy's {@code .npy} format for one float32 array in C order, the only kind this library reads or
 * writes: what {@code np.save} writes for a {@code float32} array, byte for byte (version 1.0,
 * descr {@code '<f4'}, header padded as NumPy pads it), and what Flower carries inside its {@code
 * Array} objects. Reading is strict and bounded: the caller says which shape it expects, and the
 * header is checked against it before anything is allocated.
 */
public final class Npy {
  /** NumPy's magic string, {@code \x93NUMPY}. */
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

  /** The longest header this reader parses (NumPy's own reader stops at 10,000 bytes). */
  public static final int MAX_HEADER_BYTES = 10_000;

  /** NumPy aligns the data to this many bytes. */
  private static final int ALIGN = 64;

  /** NumPy leaves room for the first axis to grow to this many digits. */
  private static final int GROWTH_AXIS_MAX_DIGITS = 21;

  /** Readable names for the dtypes a peer is likely to send instead of float32. */
  private static final Map<String, String> DTYPE_NAMES =
      Map.ofEntries(
          Map.entry("<f8", "float64"),
          Map.entry("<f2", "float16"),
          Map.entry(">f4", "big-endian float32"),
          Map.entry("<i4", "int32"),
          Map.entry("<i8", "int64"),
          Map.entry("|u1", "uint8"),
          Map.entry("|i1", "int8"),
          Map.entry("|b1", "bool"),
          Map.entry("|O", "object (pickled)"));

  private Npy() {}

  /**
   * The {@code .npy} bytes of a float32 array, exactly as {@code np.save} writes them.
   *
   * @param shape the dimensions
   * @param values the values in C (row-major) order; their count must fit the shape
   * @return the bytes
   * @throws IllegalArgumentException when the values do not fit the shape
   */
  public static byte[] encode(int[] shape, float[] values) {
    long n = 1;
    for (int d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
      }
      n *= d;
    }
    if (n != values.length) {
      throw new IllegalArgumentException(
          "shape " + Arrays.toString(shape) + " needs " + n + " values, got " + values.length);
    }
    byte[] header = header(shape);
    ByteBuffer buf =
        ByteBuffer.allocate(header.length + 4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    buf.put(header);
    buf.asFloatBuffer().put(values);
    return buf.array();
  }

  /**
   * The most bytes a {@code .npy} of this shape may take and still be {@linkplain #decode read}:
   * the longest header plus four bytes a value. Readers bound their input by it before allocating.
   *
   * @param shape the dimensions
   * @return the bound
   */
  public static long maxLength(int[] shape) {
    long n = 1;
    for (int d : shape) {
      n *= d;
    }
    return MAGIC.length + 2 + 4 + MAX_HEADER_BYTES + 4 * n;
  }

  /** Magic, version 1.0, header length, then NumPy's header dict padded as it pads it. */
  private static byte[] header(int[] shape) {
    StringBuilder dict =
        new StringBuilder("{'descr': '<f4', 'fortran_order': False, 'shape': ")
            .append(tuple(shape))
            .append(", }");
    if (shape.length > 0) {
      dict.append(" ".repeat(GROWTH_AXIS_MAX_DIGITS - String.valueOf(shape[0]).length()));
    }
    int withNewline = dict.length() + 1;
    int pad = ALIGN - ((MAGIC.length + 2 + 2 + withNewline) % ALIGN);
    dict.append(" ".repeat(pad)).append('\n');
    byte[] text = dict.toString().getBytes(StandardCharsets.US_ASCII);
    ByteBuffer buf = ByteBuffer.allocate(MAGIC.length + 4 + text.length);
    buf.order(ByteOrder.LITTLE_ENDIAN).put(MAGIC).put((byte) 1).put((byte) 0);
    buf.putShort((short) text.length).put(text);
    return buf.array();
  }

  /** Python's repr of a tuple of ints: {@code ()}, {@code (2,)}, {@code (3, 2)}. */
  private static String tuple(int[] shape) {
    if (shape.length == 1) {
      return "(" + shape[0] + ",)";
    }
    StringJoiner j = new StringJoiner(", ", "(", ")");
    for (int d : shape) {
      j.add(String.valueOf(d));
    }
    return j.toString();
  }

  /**
   * The values of a float32 C-order {@code .npy} file of exactly the expected shape.
   *
   * @param bytes the whole file
   * @param expectedShape the shape the caller's model has for this array
   * @param name names the array in errors
   * @return the values, row-major
   * @throws WeightsFormatException naming {@code name} and what is wrong: not {@code .npy}, a
   *     header over {@link #MAX_HEADER_BYTES}, another dtype (float64, …), Fortran order, another
   *     shape, or a data length that does not match
   */
  public static float[] decode(byte[] bytes, int[] expectedShape, String name)
      throws WeightsFormatException {
    if (bytes.length < MAGIC.length + 4
        || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      throw new WeightsFormatException(name + ": not a .npy array (no \\x93NUMPY magic)");
    }
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    buf.position(MAGIC.length);
    int major = Byte.toUnsignedInt(buf.get());
    buf.get(); // minor: no version has a minor number that changes the layout
    long headerLength;
    if (major == 1) {
      headerLength = Short.toUnsignedInt(buf.getShort());
    } else if (major == 2 || major == 3) {
      if (buf.remaining() < 4) {
        throw new WeightsFormatException(name + ": .npy header truncated");
      }
      headerLength = Integer.toUnsignedLong(buf.getInt());
    } else {
      throw new WeightsFormatException(name + ": .npy version " + major + " is not supported");
    }
    if (headerLength > MAX_HEADER_BYTES) {
      throw new WeightsFormatException(
          name + ": .npy header of " + headerLength + " bytes, at most " + MAX_HEADER_BYTES);
    }
    if (headerLength > buf.remaining()) {
      throw new WeightsFormatException(
          name
              + ": .npy header declares "
              + headerLength
              + " bytes, only "
              + buf.remaining()
              + " follow");
    }
    String header =
        new String(
            bytes,
            buf.position(),
            (int) headerLength,
            major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    int dataStart = buf.position() + (int) headerLength;
    Header h = Header.parse(header, name);
    if (!h.descr.equals("<f4")) {
      String known = DTYPE_NAMES.get(h.descr);
      throw new WeightsFormatException(
          name
              + ": dtype "
              + (known != null ? known + " ('" + h.descr + "')" : "'" + clip(h.descr) + "'")
              + ", expected float32 ('<f4')");
    }
    if (h.fortranOrder) {
      throw new WeightsFormatException(name + ": Fortran order, expected C order");
    }
    if (!Arrays.equals(h.shape, expectedShape)) {
      throw new WeightsFormatException(
          name
              + ": shape "
              + Arrays.toString(h.shape)
              + ", expected "
              + Arrays.toString(expectedShape));
    }
    long n = 1;
    for (int d : expectedShape) {
      n *= d;
    }
    long data = bytes.length - (long) dataStart;
    if (data != 4 * n) {
      throw new WeightsFormatException(
          name + ": " + data + " bytes of data, shape needs " + 4 * n + " (" + n + " float32)");
    }
    float[] values = new float[(int) n];
    buf.position(dataStart);
    buf.asFloatBuffer().get(values);
    return values;
  }

  private static String clip(String s) {
    String printable = s.replaceAll("[^ -~]", "?");
    return printable.length() > 40 ? printable.substring(0, 40) + "…" : printable;
  }

  /** The three keys of a header dict, parsed from NumPy's Python-literal form. */
  private record Header(String descr, boolean fortranOrder, int[] shape) {
    static Header parse(String text, String name) throws WeightsFormatException {
      Literal p = new Literal(text, name);
      p.skipSpace();
      p.expect('{');
      String descr = null;
      Boolean fortran = null;
      int[] shape = null;
      while (true) {
        p.skipSpace();
        if (p.peek() == '}') {
          p.next();
          break;
        }
        String key = p.string();
        p.skipSpace();
        p.expect(':');
        p.skipSpace();
        switch (key) {
          case "descr" -> descr = p.string();
          case "fortran_order" -> fortran = p.bool();
          case "shape" -> shape = p.shape();
          default -> throw p.error("unexpected key '" + clip(key) + "'");
        }
        p.skipSpace();
        if (p.peek() == ',') {
          p.next();
        } else if (p.peek() != '}') {
          throw p.error("expected ',' or '}'");
        }
      }
      p.skipSpace();
      if (p.pos < text.length()) {
        throw p.error("text after the header dict");
      }
      if (descr == null || fortran == null || shape == null) {
        throw new WeightsFormatException(
            name + ": .npy header lacks one of 'descr', 'fortran_order', 'shape'");
      }
      return new Header(descr, fortran, shape);
    }
  }

  /** A cursor over the few Python literals a header holds: strings, booleans, int tuples. */
  private static final class Literal {
    private static final int MAX_RANK = 32;
    private final String text;
    private final String name;
    private int pos;

    Literal(String text, String name) {
      this.text = text;
      this.name = name;
    }

    WeightsFormatException error(String what) {
      return new WeightsFormatException(
          name + ": malformed .npy header at character " + pos + ": " + what);
    }

    char peek() throws WeightsFormatException {
      if (pos >= text.length()) {
        throw error("it ends early");
      }
      return text.charAt(pos);
    }

    char next() throws WeightsFormatException {
      char c = peek();
      pos++;
      return c;
    }

    void expect(char c) throws WeightsFormatException {
      if (next() != c) {
        pos--;
        throw error("expected '" + c + "'");
      }
    }

    void skipSpace() {
      while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
        pos++;
      }
    }

    String string() throws WeightsFormatException {
      char quote = next();
      if (quote != '\'' && quote != '"') {
        pos--;
        throw error("expected a string");
      }
      int end = text.indexOf(quote, pos);
      if (end < 0) {
        throw error("unterminated string");
      }
      String s = text.substring(pos, end);
      pos = end + 1;
      return s;
    }

    boolean bool() throws WeightsFormatException {
      if (text.startsWith("True", pos)) {
        pos += 4;
        return true;
      }
      if (text.startsWith("False", pos)) {
        pos += 5;
        return false;
      }
      throw error("expected True or False");
    }

    int[] shape() throws WeightsFormatException {
      expect('(');
      int[] dims = new int[MAX_RANK];
      int rank = 0;
      while (true) {
        skipSpace();
        if (peek() == ')') {
          next();
          return Arrays.copyOf(dims, rank);
        }
        if (rank == MAX_RANK) {
          throw error("more than " + MAX_RANK + " dimensions");
        }
        int start = pos;
        while (pos < text.length() && Character.isDigit(text.charAt(pos))) {
          pos++;
        }
        if (pos == start || pos - start > 10) {
          throw error("expected a dimension");
        }
        long d = Long.parseLong(text.substring(start, pos));
        if (d > Integer.MAX_VALUE) {
          throw error("dimension " + d + " is too large");
        }
        dims[rank++] = (int) d;
        skipSpace();
        if (peek() == ',') {
          next();
        } else if (peek() != ')') {
          throw error("expected ',' or ')'");
        }
      }
    }
  }
}
