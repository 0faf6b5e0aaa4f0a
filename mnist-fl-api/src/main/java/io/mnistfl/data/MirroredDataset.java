package io.mnistfl.data;

import io.mnistfl.internal.Require;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

/**
 * A data set in MNIST's IDX layout that mirrors serve over HTTP(S). A mirror is a base URL under
 * which the four files are found gzipped by their canonical names ({@code
 * train-images-idx3-ubyte.gz}, {@code train-labels-idx1-ubyte.gz}, {@code
 * t10k-images-idx3-ubyte.gz}, {@code t10k-labels-idx1-ubyte.gz}); {@value #DATASET_PLACEHOLDER} in
 * a base URL stands for the data set's {@link #id()}, so one list can serve several data sets.
 *
 * <p>{@link #load(Path, DownloadListener)} uses the files in the directory when all four are there,
 * and otherwise fetches each missing one with the JDK's HTTP client from the {@link #mirrors()} in
 * order: the standard proxy properties ({@code https.proxyHost}, {@code http.proxyHost}, {@code
 * http.nonProxyHosts}, ...) apply, redirects are followed, every download is capped at {@link
 * #maxFileBytes()}, and a mirror that keeps it waiting longer than {@link #timeout()} is given up.
 * A file is kept only when the SHA-256 of its decompressed content matches; one that does not is
 * deleted and the next mirror tried. Files are verified again on every load. Immutable.
 */
public final class MirroredDataset implements Dataset {
  /** The environment variable that replaces the default mirrors: base URLs, space-separated. */
  public static final String MIRRORS_ENV = "MNIST_FL_MIRRORS";

  /** The system property that replaces both the default mirrors and {@value #MIRRORS_ENV}. */
  public static final String MIRRORS_PROPERTY = "mnistfl.mirrors";

  /** Stands for the data set's id in a mirror's base URL. */
  public static final String DATASET_PLACEHOLDER = "{dataset}";

  /** The largest download accepted unless the builder says otherwise: 64 MiB. */
  public static final long DEFAULT_MAX_FILE_BYTES = 64L << 20;

  /** How long a mirror may keep a download waiting unless the builder says otherwise. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
  private static final Pattern SHA256 = Pattern.compile("[0-9a-fA-F]{64}");

  private final String id;
  private final int numClasses;
  private final Map<String, String> checksums;
  private final List<String> defaultMirrors;
  private final long maxFileBytes;
  private final Duration timeout;
  private final Optional<PackageFallback> fallback;

  private MirroredDataset(Builder b) {
    this.id = b.id;
    this.numClasses = b.numClasses;
    Map<String, String> sums = new LinkedHashMap<>();
    for (String file : IdxDirectory.FILES) {
      sums.put(file, b.checksums.get(file));
    }
    this.checksums = Collections.unmodifiableMap(sums);
    this.defaultMirrors = List.copyOf(b.mirrors);
    this.maxFileBytes = b.maxFileBytes;
    this.timeout = b.timeout;
    this.fallback = b.fallback;
  }

  /**
   * A builder for the data set named {@code id}.
   *
   * @param id the short name: letters, digits, {@code .}, {@code _} and {@code -}
   * @return the builder
   */
  public static Builder builder(String id) {
    return new Builder(id);
  }

  @Override
  public String id() {
    return id;
  }

  /**
   * The number of classes; every label lies in {@code [0, numClasses)}.
   *
   * @return the number of classes
   */
  public int numClasses() {
    return numClasses;
  }

  /**
   * File name → expected SHA-256 hex of its decompressed content, one per file, in the order they
   * are fetched.
   *
   * @return the expected digests by file name, unmodifiable
   */
  public Map<String, String> checksums() {
    return checksums;
  }

  /**
   * The mirrors used when neither {@value #MIRRORS_PROPERTY} nor {@value #MIRRORS_ENV} is set, as
   * given to the builder ({@value #DATASET_PLACEHOLDER} not yet replaced).
   *
   * @return the default base URLs, in order
   */
  public List<String> defaultMirrors() {
    return defaultMirrors;
  }

  /**
   * The largest download accepted, in bytes; a longer one is cut off there and refused.
   *
   * @return the cap
   */
  public long maxFileBytes() {
    return maxFileBytes;
  }

  /**
   * How long a mirror may take to answer, and then to send more of a file, before the next is
   * tried.
   *
   * @return the timeout
   */
  public Duration timeout() {
    return timeout;
  }

  /**
   * The mirrors tried, in order: the system property {@value #MIRRORS_PROPERTY} when set, else the
   * environment variable {@value #MIRRORS_ENV} when set, else the {@link #defaultMirrors()}; with
   * {@value #DATASET_PLACEHOLDER} replaced by {@link #id()}.
   *
   * @return the base URLs, in order
   * @throws IllegalArgumentException naming the setting when an entry is not an http(s) URL
   */
  public List<URI> mirrors() {
    return mirrors(id, defaultMirrors, System::getenv, System::getProperty);
  }

  /** {@link #mirrors()}, reading the settings through the given functions. */
  static List<URI> mirrors(
      String id,
      List<String> defaults,
      UnaryOperator<String> environment,
      UnaryOperator<String> properties) {
    String property = properties.apply(MIRRORS_PROPERTY);
    if (property != null && !property.isBlank()) {
      return parse(id, List.of(property.strip().split("\\s+")), "-D" + MIRRORS_PROPERTY);
    }
    String env = environment.apply(MIRRORS_ENV);
    if (env != null && !env.isBlank()) {
      return parse(id, List.of(env.strip().split("\\s+")), "$" + MIRRORS_ENV);
    }
    return parse(id, defaults, "mirror");
  }

  private static List<URI> parse(String id, List<String> templates, String source) {
    List<URI> urls = new ArrayList<>();
    for (String template : templates) {
      String url = template.replace(DATASET_PLACEHOLDER, id);
      URI uri;
      try {
        uri = new URI(url);
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException(
            source + ": '" + template + "' is not a URL (" + e.getReason() + ")", e);
      }
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if (!(scheme.equals("http") || scheme.equals("https")) || uri.getHost() == null) {
        throw new IllegalArgumentException(
            source + ": '" + template + "' is not an http or https URL with a host");
      }
      urls.add(uri);
    }
    return List.copyOf(urls);
  }

  @Override
  public TrainTestData load(Path dir, DownloadListener listener) throws IOException {
    Objects.requireNonNull(listener, "listener");
    if (IdxDirectory.isComplete(dir)) {
      return IdxDirectory.load(dir, id, numClasses, checksums);
    }
    if (fallback.isPresent()) {
      Optional<TrainTestData> earlier = fallback.get().loadExisting(dir, this);
      if (earlier.isPresent()) {
        return earlier.get();
      }
    }
    List<URI> mirrors = mirrors();
    Files.createDirectories(dir);
    MirrorFetch fetch = new MirrorFetch(maxFileBytes, timeout, listener);
    if (fetch.fetchMissing(dir, mirrors, checksums)) {
      return IdxDirectory.load(dir, id, numClasses, checksums);
    }
    String cause =
        "cannot fetch "
            + id
            + " into "
            + dir
            + ": "
            + (mirrors.isEmpty()
                ? "no mirrors are set"
                : "no mirror served it: " + String.join("; ", fetch.failures()));
    String hint =
        " (set $"
            + MIRRORS_ENV
            + " or -D"
            + MIRRORS_PROPERTY
            + " to base URLs serving "
            + id
            + "'s .gz files)";
    if (fallback.isEmpty()) {
      throw new IOException(cause + hint);
    }
    listener.fallback(fallback.get().command());
    try {
      return fallback.get().fetch(dir, this);
    } catch (IOException e) {
      throw new IOException(
          cause
              + "; then the fallback "
              + fallback.get().command()
              + " failed: "
              + e.getMessage()
              + hint,
          e);
    }
  }

  @Override
  public String toString() {
    return id;
  }

  /** Builds a {@link MirroredDataset}. */
  public static final class Builder {
    private final String id;
    private int numClasses = 10;
    private final Map<String, String> checksums = new LinkedHashMap<>();
    private List<String> mirrors = List.of();
    private long maxFileBytes = DEFAULT_MAX_FILE_BYTES;
    private Duration timeout = DEFAULT_TIMEOUT;
    private Optional<PackageFallback> fallback = Optional.empty();

    private Builder(String id) {
      Objects.requireNonNull(id, "id");
      if (!ID.matcher(id).matches()) {
        throw new IllegalArgumentException(
            "data set id '" + id + "' must be letters, digits, '.', '_' and '-'");
      }
      this.id = id;
    }

    /**
     * The number of classes (default 10).
     *
     * @param value at least 1
     * @return this builder
     */
    public Builder numClasses(int value) {
      Require.atLeastOne("numClasses", value);
      this.numClasses = value;
      return this;
    }

    /**
     * The expected SHA-256 of one file's decompressed content.
     *
     * @param file one of the four canonical names, e.g. {@code train-images-idx3-ubyte}
     * @param sha256 64 hex digits
     * @return this builder
     */
    public Builder checksum(String file, String sha256) {
      if (!List.of(IdxDirectory.FILES).contains(file)) {
        throw new IllegalArgumentException(
            "'" + file + "' is none of " + String.join(", ", IdxDirectory.FILES));
      }
      if (!SHA256.matcher(sha256).matches()) {
        throw new IllegalArgumentException(
            file + ": '" + sha256 + "' is not a SHA-256 (64 hex digits)");
      }
      checksums.put(file, sha256.toLowerCase(Locale.ROOT));
      return this;
    }

    /**
     * The expected SHA-256 of every file's decompressed content.
     *
     * @param sha256 file name → 64 hex digits, for each of the four canonical names
     * @return this builder
     */
    public Builder checksums(Map<String, String> sha256) {
      sha256.forEach(this::checksum);
      return this;
    }

    /**
     * The default mirrors, tried in order unless {@value MirroredDataset#MIRRORS_PROPERTY} or
     * {@value MirroredDataset#MIRRORS_ENV} replaces them (default: none).
     *
     * @param baseUrls http(s) base URLs, each may contain {@value
     *     MirroredDataset#DATASET_PLACEHOLDER}
     * @return this builder
     */
    public Builder mirrors(List<String> baseUrls) {
      this.mirrors = List.copyOf(baseUrls);
      return this;
    }

    /**
     * The largest download accepted (default {@value MirroredDataset#DEFAULT_MAX_FILE_BYTES}).
     *
     * @param bytes at least 1
     * @return this builder
     */
    public Builder maxFileBytes(long bytes) {
      if (bytes < 1) {
        throw new IllegalArgumentException("maxFileBytes must be >= 1, was " + bytes);
      }
      this.maxFileBytes = bytes;
      return this;
    }

    /**
     * How long a mirror may take to answer, and then to send more of a file, before the next is
     * tried (default 30 s; connecting takes at most 10 s).
     *
     * @param value longer than zero
     * @return this builder
     */
    public Builder timeout(Duration value) {
      Require.positive("timeout", value);
      this.timeout = value;
      return this;
    }

    /** The package client tried when no mirror serves the files: the standard data sets'. */
    Builder fallback(PackageFallback value) {
      this.fallback = Optional.of(value);
      return this;
    }

    /**
     * The data set.
     *
     * @return the data set
     * @throws IllegalArgumentException when a file's checksum is missing or a default mirror is not
     *     an http(s) URL
     */
    public MirroredDataset build() {
      for (String file : IdxDirectory.FILES) {
        if (!checksums.containsKey(file)) {
          throw new IllegalArgumentException(id + ": no SHA-256 given for " + file);
        }
      }
      parse(id, mirrors, id + " mirror");
      return new MirroredDataset(this);
    }
  }
}
