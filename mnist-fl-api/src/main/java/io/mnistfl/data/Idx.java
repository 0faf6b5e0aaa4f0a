package io.mnistfl.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reads the IDX format of MNIST and Fashion-MNIST: unsigned-byte image tensors (rank 3) and label
 * vectors (rank 1). Every header field is checked, and the payload must be exactly as long as the
 * header says; gzip is detected from the content, not the file name.
 */
public final class Idx {
  private static final int UNSIGNED_BYTE = 0x08;
  /** Refuse absurd headers before allocating: MNIST-sized data sets are far below this. */
  private static final long MAX_PAYLOAD_BYTES = Integer.MAX_VALUE - 8;

  private Idx() {}

  /** Raw images as stored: {@code count} images of {@code rows × cols} unsigned bytes by rows. */
  public record Images(int count, int rows, int cols, byte[] pixels) {}

  /** Reads an images file (raw or gzip). */
  public static Images readImages(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return readImages(file.toString(), in);
    }
  }

  /** Reads a labels file (raw or gzip); every label must lie in {@code [0, numClasses)}. */
  public static byte[] readLabels(Path file, int numClasses) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return readLabels(file.toString(), in, numClasses);
    }
  }

  /**
   * Reads an images file from a stream; {@code source} names it in errors. The stream stays open.
   */
  public static Images readImages(String source, InputStream stream) throws IOException {
    DataInputStream in = new DataInputStream(decompressIfGzip(stream));
    int[] dims = readHeader(source, in, 3);
    long payload = (long) dims[0] * dims[1] * dims[2];
    byte[] pixels = readPayload(source, in, payload);
    return new Images(dims[0], dims[1], dims[2], pixels);
  }

  /** Reads a labels file from a stream; {@code source} names it in errors. Not closed. */
  public static byte[] readLabels(String source, InputStream stream, int numClasses)
      throws IOException {
    DataInputStream in = new DataInputStream(decompressIfGzip(stream));
    int[] dims = readHeader(source, in, 1);
    byte[] labels = readPayload(source, in, dims[0]);
    for (int i = 0; i < labels.length; i++) {
      int label = labels[i] & 0xFF;
      if (label >= numClasses) {
        throw new IdxFormatException(
            source,
            "label " + label + " at index " + i + " is outside 0.." + (numClasses - 1));
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
        throw new IdxFormatException(source,
            "dimension " + d + " is " + dims[d] + ", expected > 0");
      }
    }
    return dims;
  }

  private static byte[] readPayload(String source, DataInputStream in, long expected)
      throws IOException {
    if (expected > MAX_PAYLOAD_BYTES) {
      throw new IdxFormatException(
          source, "header declares " + expected + " data bytes, more than this reader supports");
    }
    byte[] data = in.readNBytes((int) expected);
    if (data.length < expected) {
      throw new IdxFormatException(
          source,
          "truncated: header declares " + expected + " data bytes but only " + data.length
              + " follow");
    }
    if (in.read() != -1) {
      throw new IdxFormatException(
          source, "trailing bytes after the " + expected + " data bytes the header declares");
    }
    return data;
  }
}
