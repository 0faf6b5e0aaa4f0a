package io.mnistfl.data;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.DeflaterOutputStream;

/** Writes 8-bit grayscale PNG files row by row, so tests can make pictures too large to hold. */
final class Pngs {
  /** The gray value (0 black, 255 white) of each pixel of a row. */
  interface Painter {
    void row(int y, byte[] gray);
  }

  private Pngs() {}

  /** Only the signature and the header chunk: a file that declares its size and holds nothing. */
  static byte[] headerOnly(int width, int height) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
    chunk(out, "IHDR", ihdr(width, height));
    chunk(out, "IEND", new byte[0]);
    return out.toByteArray();
  }

  /** A whole picture, painted row by row. */
  static void write(Path file, int width, int height, Painter painter) throws IOException {
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    try (DeflaterOutputStream z = new DeflaterOutputStream(data)) {
      byte[] row = new byte[width];
      for (int y = 0; y < height; y++) {
        painter.row(y, row);
        z.write(0); // filter: none
        z.write(row);
      }
    }
    try (OutputStream out = Files.newOutputStream(file)) {
      out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
      chunk(out, "IHDR", ihdr(width, height));
      chunk(out, "IDAT", data.toByteArray());
      chunk(out, "IEND", new byte[0]);
    }
  }

  private static byte[] ihdr(int width, int height) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    DataOutputStream d = new DataOutputStream(b);
    d.writeInt(width);
    d.writeInt(height);
    d.write(new byte[] {8, 0, 0, 0, 0}); // 8 bits, grayscale, deflate, no filter, no interlace
    return b.toByteArray();
  }

  private static void chunk(OutputStream out, String type, byte[] data) throws IOException {
    DataOutputStream d = new DataOutputStream(out);
    d.writeInt(data.length);
    byte[] t = type.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    d.write(t);
    d.write(data);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    d.writeInt((int) crc.getValue());
  }
}
