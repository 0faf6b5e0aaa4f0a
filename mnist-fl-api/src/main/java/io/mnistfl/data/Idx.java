package io.mnistfl.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * Reads the IDX format of MNIST and Fashion-MNIST: unsigned-byte image tensors (rank 3) and label
 * vectors (rank 1). Every header field is checked, and the payload must be exactly as long as the
 * header says; gzip is detected from the content, not the file name.
 *
 * <p>Hostile headers cost nothing: the product of the dimensions is computed without overflow and
 * checked against a cap ({@link #DEFAULT_MAX_PAYLOAD_BYTES} unless given), and the payload is read
 * in growing chunks, so memory follows the bytes actually present, never what the header claims.
 * That holds for gzip too, whose decompressed size is unknown until read.
 */
public final class Idx {
  /**
   * The largest payload read unless a caller gives another cap: 256 MiB, five times MNIST's
   * training images.
   */
  public static final long DEFAULT_MAX_PAYLOAD_BYTES = 256L << 20;

  private static final int UNSIGNED_BYTE = 0x08;

  /** The most any Java array can hold. */
  private static final long ARRAY_LIMIT = Integer.MAX_VALUE - 8;

  private static final int FIRST_CHUNK = 1 << 20;

  private Idx() {}

  /**
   * Raw images as stored: {@code count} images of {@code rows × cols} unsigned bytes by rows.
   *
   * @param count the number of images
   * @param rows each image's height
   * @param cols each image's width
   * @param pixels {@code count·rows·cols} unsigned bytes, image by image
   */
  public record Images(int count, int rows, int cols, byte[] pixels) {}

  /**
   * Reads an images file (raw or gzip).
   *
   * @param file the file to read
   * @return the images as stored
   * @throws IOException when the file cannot be read or is not a valid images file
   */
  public static Images readImages(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return readImages(file.toString(), in);
    }
  }

  /**
   * Reads a labels file (raw or gzip); every label must lie in {@code [0, numClasses)}.
   *
   * @param file the file to read
   * @param numClasses the number of classes
   * @return one label per example
   * @throws IOException when the file cannot be read, is not a valid labels file or holds a label
   *     out of range
   */
  public static byte[] readLabels(Path file, int numClasses) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return readLabels(file.toString(), in, numClasses);
    }
  }

  /**
   * Reads an images file from a stream; {@code source} names it in errors. The stream stays open.
   *
   * @param source names the stream in error messages
   * @param stream the content, raw or gzip
   * @return the images as stored
   * @throws IOException when the stream cannot be read or is not a valid images file
   */
  public static Images readImages(String source, InputStream stream) throws IOException {
    return readImages(source, stream, DEFAULT_MAX_PAYLOAD_BYTES);
  }

  /**
   * Reads an images file from a stream, refusing a header that declares more than {@code
   * maxPayloadBytes} of pixels; {@code source} names it in errors. The stream stays open.
   *
   * @param source names the stream in error messages
   * @param stream the content, raw or gzip
   * @param maxPayloadBytes the most pixel bytes the header may declare
   * @return the images as stored
   * @throws IOException when the stream cannot be read, is not a valid images file or declares more
   *     than {@code maxPayloadBytes}
   */
  public static Images readImages(String source, InputStream stream, long maxPayloadBytes)
      throws IOException {
    DataInputStream in = new DataInputStream(decompressIfGzip(stream));
    int[] dims = readHeader(source, in, 3);
    byte[] pixels = readPayload(source, in, payloadBytes(source, dims), maxPayloadBytes);
    return new Images(dims[0], dims[1], dims[2], pixels);
  }

  /**
   * Reads a labels file from a stream; {@code source} names it in errors. Not closed.
   *
   * @param source names the stream in error messages
   * @param stream the content, raw or gzip
   * @param numClasses the number of classes
   * @return one label per example
   * @throws IOException when the stream cannot be read, is not a valid labels file or holds a label
   *     out of range
   */
  public static byte[] readLabels(String source, InputStream stream, int numClasses)
      throws IOException {
    return readLabels(source, stream, numClasses, DEFAULT_MAX_PAYLOAD_BYTES);
  }

  /**
   * Reads a labels file from a stream, refusing a header that declares more than {@code
   * maxPayloadBytes} labels; {@code source} names it in errors. Not closed.
   *
   * @param source names the stream in error messages
   * @param stream the content, raw or gzip
   * @param numClasses the number of classes
   * @param maxPayloadBytes the most labels the header may declare
   * @return one label per example
   * @throws IOException when the stream cannot be read, is not a valid labels file, holds a label
   *     out of range or declares more than {@code maxPayloadBytes}
   */
  public static byte[] readLabels(
      String source, InputStream stream, int numClasses, long maxPayloadBytes) throws IOException {
    DataInputStream in = new DataInputStream(decompressIfGzip(stream));
    int[] dims = readHeader(source, in, 1);
    byte[] labels = readPayload(source, in, dims[0], maxPayloadBytes);
    for (int i = 0; i < labels.length; i++) {
      int label = labels[i] & 0xFF;
      if (label >= numClasses) {
        throw new IdxFormatException(
            source, "label " + label + " at index " + i + " is outside 0.." + (numClasses - 1));
      }
    }
    return labels;
  }

  /** The stream, gunzipped when its first two bytes are gzip's magic (file names don't matter). */
  static InputStream decompressIfGzip(InputStream stream) throws IOException {
    BufferedInputStream in = new BufferedInputStream(stream, 1 << 16);
    in.mark(2);
    int b0 = in.read();
    int b1 = in.read();
    in.reset();
    boolean gzip = b0 == 0x1f && b1 == 0x8b;
    return gzip ? new BufferedInputStream(new GZIPInputStream(in, 1 << 16), 1 << 16) : in;
  }

  private static int[] readHeader(String source, DataInputStream in, int expectedRank)
      throws IOException {
    int magic;
    try {
      magic = in.readInt();
    } catch (EOFException e) {
      throw new IdxFormatException(source, "file ends inside the 4-byte IDX magic number");
    }
    int zeros = magic >>> 16;
    int type = (magic >>> 8) & 0xFF;
    int rank = magic & 0xFF;
    if (zeros != 0) {
      throw new IdxFormatException(
          source,
          String.format(
              "bad IDX magic number 0x%08X: first two bytes must be zero (not an IDX file?)",
              magic));
    }
    if (type != UNSIGNED_BYTE) {
      throw new IdxFormatException(
          source, String.format("IDX data type 0x%02X is not unsigned byte (0x08)", type));
    }
    if (rank != expectedRank) {
      throw new IdxFormatException(
          source,
          "IDX rank "
              + rank
              + " but expected "
              + expectedRank
              + (expectedRank == 3 ? " (an images file)" : " (a labels file)"));
    }
    int[] dims = new int[rank];
    for (int d = 0; d < rank; d++) {
      try {
        dims[d] = in.readInt();
      } catch (EOFException e) {
        throw new IdxFormatException(source, "file ends inside the header at dimension " + d);
      }
      if (dims[d] <= 0) {
        throw new IdxFormatException(
            source, "dimension " + d + " is " + dims[d] + ", expected > 0");
      }
    }
    return dims;
  }

  /** The product of the dimensions, or an error naming them where it overflows a long. */
  private static long payloadBytes(String source, int[] dims) throws IdxFormatException {
    long product = 1;
    try {
      for (int d : dims) {
        product = Math.multiplyExact(product, d);
      }
    } catch (ArithmeticException e) {
      throw new IdxFormatException(
          source,
          "dimensions "
              + dims[0]
              + " x "
              + dims[1]
              + " x "
              + dims[2]
              + " overflow: their product exceeds 2^63 bytes");
    }
    return product;
  }

  private static byte[] readPayload(
      String source, DataInputStream in, long expected, long maxPayloadBytes) throws IOException {
    long cap = Math.min(maxPayloadBytes, ARRAY_LIMIT);
    if (expected > cap) {
      throw new IdxFormatException(
          source,
          "header declares " + expected + " data bytes, more than the cap of " + cap + " bytes");
    }
    // Grow with what arrives rather than trust the header with one large allocation.
    byte[] data = new byte[(int) Math.min(expected, FIRST_CHUNK)];
    int read = 0;
    while (read < expected) {
      if (read == data.length) {
        data = Arrays.copyOf(data, (int) Math.min(expected, 2L * data.length));
      }
      int n = in.read(data, read, data.length - read);
      if (n < 0) {
        throw new IdxFormatException(
            source,
            "truncated: header declares " + expected + " data bytes but only " + read + " follow");
      }
      read += n;
    }
    if (in.read() != -1) {
      throw new IdxFormatException(
          source, "trailing bytes after the " + expected + " data bytes the header declares");
    }
    return data;
  }
}
