package io.mnistfl.model;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * {@link Weights} as a NumPy {@code .npz} file, the form Flower's ServerApps (and NumPy) read and
 * write: a zip of one float32 C-order {@code .npy} entry per array, in model order.
 *
 * <p>{@link #write} names each entry after its array ({@code conv2d_0/kernel.npy}, …), as {@code
 * np.savez(path, **arrays)} would, so {@code np.load(path).files} lists the model's names in order.
 * {@link #read} takes either those names or NumPy's positional ones ({@code arr_0.npy}, {@code
 * arr_1.npy}, … as {@code np.savez(path, *arrays)} writes them, e.g. a Flower run's {@code
 * final.npz}), and checks the entries' count, order, names, dtype and shapes against the model's
 * spec. Every size is bounded by what the spec implies before anything is allocated.
 */
public final class NpzWeights {
  /** Bytes a zip spends per entry beyond its data and name (local header, directory, zip64). */
  private static final long ENTRY_OVERHEAD = 256;

  private NpzWeights() {}

  /**
   * Writes {@code weights} to {@code file} (atomically: a temporary file, then a rename).
   *
   * @param weights the weights, in model order
   * @param file the {@code .npz} to write
   * @throws IOException when the file cannot be written
   */
  public static void write(Weights weights, Path file) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path temp = Files.createTempFile(dir, file.getFileName().toString(), ".part");
    try {
      try (OutputStream out = Files.newOutputStream(temp)) {
        write(weights, out);
      }
      Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /**
   * Writes {@code weights} as an {@code .npz} to a stream, stored (uncompressed) as NumPy does.
   *
   * @param weights the weights, in model order
   * @param out where the zip goes; left open
   * @throws IOException when the stream fails
   */
  public static void write(Weights weights, OutputStream out) throws IOException {
    List<String> names = new ArrayList<>();
    List<byte[]> npys = new ArrayList<>();
    for (Weights.NamedArray a : weights.arrays()) {
      names.add(a.name() + ".npy");
      npys.add(Npy.encode(a.shape(), a.values()));
    }
    writeStored(names, npys, out);
  }

  /**
   * Entry {@code i} named {@code names.get(i)} holding {@code npys.get(i)}, stored as np.savez
   * does.
   */
  static void writeStored(List<String> names, List<byte[]> npys, OutputStream out)
      throws IOException {
    ZipOutputStream zip = new ZipOutputStream(out);
    for (int i = 0; i < names.size(); i++) {
      byte[] npy = npys.get(i);
      ZipEntry entry = new ZipEntry(names.get(i));
      entry.setMethod(ZipEntry.STORED);
      entry.setSize(npy.length);
      entry.setCompressedSize(npy.length);
      CRC32 crc = new CRC32();
      crc.update(npy);
      entry.setCrc(crc.getValue());
      // A fixed time, so that the same weights give the same bytes.
      entry.setTime(315532800000L);
      zip.putNextEntry(entry);
      zip.write(npy);
      zip.closeEntry();
    }
    zip.finish();
  }

  /**
   * Reads an {@code .npz} holding {@code spec}'s arrays.
   *
   * @param file the {@code .npz}
   * @param spec the model the arrays belong to
   * @return the weights, named and ordered as the spec's parameters
   * @throws WeightsFormatException naming the file and the first entry that is missing, extra,
   *     misnamed, out of order, of another dtype or shape, or larger than its shape allows
   * @throws IOException when the file cannot be read
   */
  public static Weights read(Path file, ModelSpec spec) throws IOException {
    List<ParameterShape> params = spec.parameters();
    long budget = 0;
    for (ParameterShape p : params) {
      budget += Npy.maxLength(p.shape()) + 2L * p.name().length() + ENTRY_OVERHEAD;
    }
    long size = Files.size(file);
    if (size > budget + (1 << 16)) {
      throw new WeightsFormatException(
          file
              + ": "
              + size
              + " bytes, more than the "
              + params.size()
              + " arrays of "
              + spec.name()
              + " can take");
    }
    List<Weights.NamedArray> arrays = new ArrayList<>(params.size());
    try (ZipFile zip = new ZipFile(file.toFile())) {
      if (zip.size() != params.size()) {
        throw new WeightsFormatException(
            file + ": " + zip.size() + " arrays, " + spec.name() + " has " + params.size());
      }
      Enumeration<? extends ZipEntry> entries = zip.entries();
      for (int i = 0; i < params.size(); i++) {
        ZipEntry entry = entries.nextElement();
        ParameterShape p = params.get(i);
        String positional = "arr_" + i + ".npy";
        String named = p.name() + ".npy";
        if (!entry.getName().equals(positional) && !entry.getName().equals(named)) {
          throw new WeightsFormatException(
              file
                  + ": entry "
                  + i
                  + " is '"
                  + entry.getName().replaceAll("[^ -~]", "?")
                  + "', expected '"
                  + positional
                  + "' or '"
                  + named
                  + "' ("
                  + p
                  + ")");
        }
        long limit = Npy.maxLength(p.shape());
        if (entry.getSize() > limit) {
          throw new WeightsFormatException(
              file
                  + ": entry "
                  + entry.getName()
                  + " holds "
                  + entry.getSize()
                  + " bytes, "
                  + p
                  + " needs at most "
                  + limit);
        }
        byte[] npy;
        try (InputStream in = zip.getInputStream(entry)) {
          npy = readAtMost(in, limit, file + ": entry " + entry.getName());
        }
        float[] values = Npy.decode(npy, p.shape(), file + ": " + entry.getName());
        arrays.add(new Weights.NamedArray(p.name(), p.shape(), values));
      }
    } catch (ZipException e) {
      throw new WeightsFormatException(file + ": not a readable .npz (zip): " + e.getMessage());
    }
    return new Weights(arrays);
  }

  /** The stream's bytes, refusing more than {@code limit} without holding them. */
  private static byte[] readAtMost(InputStream in, long limit, String what) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[1 << 16];
    long total = 0;
    int n;
    while ((n = in.read(buf)) > 0) {
      total += n;
      if (total > limit) {
        throw new WeightsFormatException(what + " inflates past " + limit + " bytes");
      }
      out.write(buf, 0, n);
    }
    return out.toByteArray();
  }
}
