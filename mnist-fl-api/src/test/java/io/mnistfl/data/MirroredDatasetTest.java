package io.mnistfl.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A data set defined outside the library, served by mirrors on loopback: the mirror setting and its
 * {dataset} placeholder, the checksum that refuses a bad file, the error that lists every URL
 * tried, and the cap on a download.
 */
class MirroredDatasetTest {
  private static final String ID = "tiny-digits";

  /** The four raw IDX files of a three-class data set: 3 training and 2 test images of 2×2. */
  private static final Map<String, byte[]> RAW =
      Map.of(
          "train-images-idx3-ubyte", IdxFiles.images(3, 2, 2),
          "train-labels-idx1-ubyte", IdxFiles.labels(0, 1, 2),
          "t10k-images-idx3-ubyte", IdxFiles.images(2, 2, 2),
          "t10k-labels-idx1-ubyte", IdxFiles.labels(2, 0));

  @TempDir Path dir;

  private static MirroredDataset.Builder tinyDigits() {
    MirroredDataset.Builder b =
        MirroredDataset.builder(ID)
            .numClasses(3)
            .mirrors(List.of("http://127.0.0.1:9/never-used/{dataset}"));
    RAW.forEach((file, bytes) -> b.checksum(file, sha256(bytes)));
    return b;
  }

  private static LoopbackMirror serveAll(LoopbackMirror mirror) throws IOException {
    for (Map.Entry<String, byte[]> f : RAW.entrySet()) {
      mirror.serve("/" + ID + "/" + f.getKey() + ".gz", IdxFiles.gzip(f.getValue()));
    }
    return mirror;
  }

  /** Runs {@code body} with -Dmnistfl.mirrors set, so that no ambient $MNIST_FL_MIRRORS applies. */
  private static <T> T withMirrors(String mirrors, Callable<T> body) throws Exception {
    String before = System.getProperty(MirroredDataset.MIRRORS_PROPERTY);
    System.setProperty(MirroredDataset.MIRRORS_PROPERTY, mirrors);
    try {
      return body.call();
    } finally {
      if (before == null) {
        System.clearProperty(MirroredDataset.MIRRORS_PROPERTY);
      } else {
        System.setProperty(MirroredDataset.MIRRORS_PROPERTY, before);
      }
    }
  }

  @Test
  void aUserDefinedDataSetLoadsFromALoopbackMirrorAndThenFromItsCache() throws Exception {
    MirroredDataset tiny = tinyDigits().build();
    Dataset asDataset = tiny;
    List<String> events = new CopyOnWriteArrayList<>();
    DownloadListener listener =
        new DownloadListener() {
          @Override
          public void started(URI url, OptionalLong totalBytes) {
            events.add("started " + url.getPath() + " " + totalBytes.orElse(-1));
          }

          @Override
          public void verified(URI url, long bytes) {
            events.add("verified " + url.getPath() + " " + bytes);
          }
        };
    try (LoopbackMirror mirror = serveAll(new LoopbackMirror())) {
      TrainTestData data =
          withMirrors(mirror.url("/{dataset}"), () -> asDataset.load(dir, listener));

      assertThat(data.train().name()).isEqualTo("tiny-digits/train");
      assertThat(data.train().labels()).containsExactly(0, 1, 2);
      assertThat(data.test().labels()).containsExactly(2, 0);
      assertThat(data.train().numClasses()).isEqualTo(3);
      assertThat(mirror.requests())
          .containsExactly(
              "/tiny-digits/train-images-idx3-ubyte.gz",
              "/tiny-digits/train-labels-idx1-ubyte.gz",
              "/tiny-digits/t10k-images-idx3-ubyte.gz",
              "/tiny-digits/t10k-labels-idx1-ubyte.gz");
      long gzLength = IdxFiles.gzip(RAW.get("train-labels-idx1-ubyte")).length;
      assertThat(events)
          .hasSize(8)
          .contains(
              "started /tiny-digits/train-labels-idx1-ubyte.gz " + gzLength,
              "verified /tiny-digits/train-labels-idx1-ubyte.gz " + gzLength);
      try (Stream<Path> files = Files.list(dir)) {
        assertThat(files.map(p -> p.getFileName().toString()))
            .containsExactlyInAnyOrder(
                "train-images-idx3-ubyte.gz",
                "train-labels-idx1-ubyte.gz",
                "t10k-images-idx3-ubyte.gz",
                "t10k-labels-idx1-ubyte.gz");
      }

      // Loaded again, from the cache alone: the mirror hears nothing more.
      TrainTestData again = withMirrors(mirror.url("/{dataset}"), () -> tiny.load(dir));
      assertThat(again.test().labels()).containsExactly(2, 0);
      assertThat(mirror.requests()).hasSize(4);
    }
  }

  @Test
  void whenEveryMirrorFailsOneErrorListsEveryUrlAndWhy() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = s.getLocalPort();
    }
    List<String> failed = new CopyOnWriteArrayList<>();
    DownloadListener listener =
        new DownloadListener() {
          @Override
          public void failed(URI url, String reason) {
            failed.add(url.getPort() + " " + reason);
          }
        };
    byte[] corrupted = RAW.get("train-images-idx3-ubyte").clone();
    corrupted[20] ^= 1;
    String file = "/tiny-digits/train-images-idx3-ubyte.gz";
    try (LoopbackMirror empty = new LoopbackMirror();
        LoopbackMirror bad = new LoopbackMirror().serve(file, IdxFiles.gzip(corrupted))) {
      String mirrors =
          String.join(
              " ",
              empty.url("/{dataset}"),
              bad.url("/{dataset}/"),
              "http://127.0.0.1:" + closedPort + "/{dataset}");
      MirroredDataset tiny = tinyDigits().build();

      assertThatThrownBy(() -> withMirrors(mirrors, () -> tiny.load(dir, listener)))
          .isInstanceOf(IOException.class)
          .hasMessageStartingWith(
              "cannot fetch tiny-digits into " + dir + ": no mirror served it: ")
          .hasMessageContaining(empty.url(file) + ": HTTP 404; ")
          .hasMessageContaining(
              bad.url(file)
                  + ": SHA-256 "
                  + sha256(corrupted)
                  + " of the decompressed file does not match the expected "
                  + sha256(RAW.get("train-images-idx3-ubyte"))
                  + "; ")
          .hasMessageContaining("http://127.0.0.1:" + closedPort + file + ": cannot connect")
          .hasMessageContaining("set $MNIST_FL_MIRRORS or -Dmnistfl.mirrors")
          .hasMessageNotContaining("\n");
      // The first file no mirror serves ends the attempt; nothing half-fetched is left.
      assertThat(empty.requests()).containsExactly(file);
      assertThat(bad.requests()).containsExactly(file);
      assertThat(failed).hasSize(3);
      try (Stream<Path> files = Files.list(dir)) {
        assertThat(files).isEmpty();
      }
    }
  }

  @Test
  void aDownloadIsCutOffAtTheCapAndAnAnnouncedOversizeIsRefusedUnread() throws Exception {
    String file = "/tiny-digits/train-images-idx3-ubyte.gz";
    long cap = 1 << 20;
    try (LoopbackMirror endless = new LoopbackMirror().endless(file);
        LoopbackMirror huge = new LoopbackMirror().announce(file, 10L << 20)) {
      MirroredDataset tiny = tinyDigits().maxFileBytes(cap).build();
      long start = System.nanoTime();

      assertThatThrownBy(
              () ->
                  withMirrors(
                      endless.url("/{dataset}") + " " + huge.url("/{dataset}"),
                      () -> tiny.load(dir)))
          .isInstanceOf(IOException.class)
          .hasMessageContaining(
              endless.url(file) + ": longer than the cap of 1048576 bytes; cut off there")
          .hasMessageContaining(
              huge.url(file) + ": announces 10485760 bytes, more than the cap of 1048576 bytes");

      assertThat((System.nanoTime() - start) / 1e9).isLessThan(20);
      // The client hung up: the endless body stops long before the server's own limit.
      long written;
      long deadline = System.nanoTime() + 10_000_000_000L;
      do {
        written = endless.endlessBytesWritten();
        Thread.sleep(200);
      } while (written != endless.endlessBytesWritten() && System.nanoTime() < deadline);
      assertThat(written).isLessThan(LoopbackMirror.ENDLESS_LIMIT / 4);
      try (Stream<Path> files = Files.list(dir)) {
        assertThat(files).isEmpty();
      }
    }
  }

  @Test
  void aMirrorThatKeepsTheDownloadWaitingIsGivenUpAfterTheTimeout() throws Exception {
    String file = "/tiny-digits/train-images-idx3-ubyte.gz";
    try (LoopbackMirror silent = new LoopbackMirror().silent(file);
        LoopbackMirror stalling = new LoopbackMirror().stalling(file)) {
      MirroredDataset tiny = tinyDigits().timeout(Duration.ofMillis(700)).build();
      long start = System.nanoTime();

      assertThatThrownBy(
              () ->
                  withMirrors(
                      silent.url("/{dataset}") + " " + stalling.url("/{dataset}"),
                      () -> tiny.load(dir)))
          .isInstanceOf(IOException.class)
          .hasMessageContaining(silent.url(file) + ": no answer within 700 ms; ")
          .hasMessageContaining(stalling.url(file) + ": no data for 700 ms");

      assertThat((System.nanoTime() - start) / 1e9).isLessThan(10);
      try (Stream<Path> files = Files.list(dir)) {
        assertThat(files).isEmpty();
      }
    }
  }

  @Test
  void mirrorsComeFromThePropertyElseTheEnvironmentElseTheDefaults() {
    List<String> defaults = List.of("https://example.org/data/{dataset}/");
    Map<String, String> env = new LinkedHashMap<>();
    Map<String, String> props = new LinkedHashMap<>();

    assertThat(MirroredDataset.mirrors("mnist", defaults, env::get, props::get))
        .containsExactly(URI.create("https://example.org/data/mnist/"));

    env.put("MNIST_FL_MIRRORS", " http://a.example/{dataset}  https://b.example/x ");
    assertThat(MirroredDataset.mirrors("fashion-mnist", defaults, env::get, props::get))
        .containsExactly(
            URI.create("http://a.example/fashion-mnist"), URI.create("https://b.example/x"));

    props.put("mnistfl.mirrors", "https://c.example/{dataset}");
    assertThat(MirroredDataset.mirrors("mnist", defaults, env::get, props::get))
        .containsExactly(URI.create("https://c.example/mnist"));
    assertThat(MirrorFetch.fileUrl(URI.create("https://c.example/mnist"), "t10k-labels-idx1-ubyte"))
        .isEqualTo(URI.create("https://c.example/mnist/t10k-labels-idx1-ubyte.gz"));
    assertThat(MirrorFetch.fileUrl(URI.create("https://c.example/m/"), "t10k-labels-idx1-ubyte"))
        .isEqualTo(URI.create("https://c.example/m/t10k-labels-idx1-ubyte.gz"));

    props.clear();
    env.put("MNIST_FL_MIRRORS", "https://ok.example ftp://nope.example/");
    assertThatThrownBy(() -> MirroredDataset.mirrors("mnist", defaults, env::get, props::get))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "$MNIST_FL_MIRRORS: 'ftp://nope.example/' is not an http or https URL with a host");
  }

  @Test
  void theBuilderRefusesAnIncompleteOrMalformedDefinition() {
    assertThatThrownBy(() -> MirroredDataset.builder("tiny").build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tiny: no SHA-256 given for train-images-idx3-ubyte");
    assertThatThrownBy(() -> MirroredDataset.builder("../up"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'../up'");
    assertThatThrownBy(
            () -> MirroredDataset.builder("tiny").checksum("train-images", sha256(new byte[0])))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("'train-images' is none of train-images-idx3-ubyte");
    assertThatThrownBy(() -> tinyDigits().mirrors(List.of("not a url")).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("tiny-digits mirror: 'not a url' is not a URL");
    assertThat(tinyDigits().build().checksums().keySet())
        .containsExactly(
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte");
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
