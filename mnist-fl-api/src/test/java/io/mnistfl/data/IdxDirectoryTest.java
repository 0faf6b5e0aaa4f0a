package io.mnistfl.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxDirectoryTest {
  @TempDir Path dir;

  private void writeSet(Path target, boolean gzipTest) throws IOException {
    Files.createDirectories(target);
    Files.write(target.resolve("train-images-idx3-ubyte"), IdxFiles.images(4, 3, 3));
    Files.write(target.resolve("train-labels-idx1-ubyte"), IdxFiles.labels(0, 1, 2, 3));
    byte[] testImages = IdxFiles.images(2, 3, 3);
    if (gzipTest) {
      Files.write(target.resolve("t10k-images-idx3-ubyte.gz"), IdxFiles.gzip(testImages));
    } else {
      Files.write(target.resolve("t10k-images-idx3-ubyte"), testImages);
    }
    Files.write(target.resolve("t10k-labels-idx1-ubyte"), IdxFiles.labels(9, 8));
  }

  @Test
  void loadsMixedRawAndGzipFiles() throws IOException {
    writeSet(dir, true);
    TrainTestData data = IdxDirectory.load(dir, "tiny", 10);
    assertThat(data.train().size()).isEqualTo(4);
    assertThat(data.test().size()).isEqualTo(2);
    assertThat(data.test().label(0)).isEqualTo(9);
    assertThat(data.train().name()).isEqualTo("tiny/train");
  }

  @Test
  void verifiesChecksumsOverDecompressedContent() throws Exception {
    writeSet(dir, true);
    String good = sha256(IdxFiles.images(2, 3, 3));
    IdxDirectory.load(dir, "tiny", 10, Map.of("t10k-images-idx3-ubyte", good));
    String bad = "00" + good.substring(2);
    assertThatThrownBy(
            () -> IdxDirectory.load(dir, "tiny", 10, Map.of("t10k-images-idx3-ubyte", bad)))
        .isInstanceOf(IdxFormatException.class)
        .hasMessageContaining("t10k-images-idx3-ubyte.gz: SHA-256 " + good)
        .hasMessageContaining("does not match the expected " + bad);
  }

  @Test
  void namesTheMissingFile() throws IOException {
    writeSet(dir, false);
    Files.delete(dir.resolve("t10k-labels-idx1-ubyte"));
    assertThat(IdxDirectory.isComplete(dir)).isFalse();
    assertThatThrownBy(() -> IdxDirectory.load(dir, "tiny", 10))
        .hasMessageContaining("t10k-labels-idx1-ubyte: missing");
  }

  @Test
  void readsEntriesFromInsideATgzArchive() throws IOException {
    Path tgz = dir.resolve("pkg.tgz");
    try (OutputStream file = Files.newOutputStream(tgz);
        TarArchiveOutputStream tar =
            new TarArchiveOutputStream(new GzipCompressorOutputStream(file))) {
      add(tar, "package/readme.md", "hello".getBytes());
      add(tar, "package/data/train-images-idx3-ubyte", IdxFiles.images(4, 3, 3));
      add(tar, "package/data/train-labels-idx1-ubyte", IdxFiles.labels(0, 1, 2, 3));
      add(tar, "package/data/t10k-images-idx3-ubyte", IdxFiles.images(2, 3, 3));
      add(tar, "package/data/t10k-labels-idx1-ubyte", IdxFiles.labels(5, 6));
    }
    TrainTestData data = IdxDirectory.loadArchive(tgz, "pkg", 10, Map.of());
    assertThat(data.train().size()).isEqualTo(4);
    assertThat(data.test().label(1)).isEqualTo(6);
  }

  @Test
  void archiveMissingAnEntryIsNamed() throws IOException {
    Path tgz = dir.resolve("partial.tgz");
    try (OutputStream file = Files.newOutputStream(tgz);
        TarArchiveOutputStream tar =
            new TarArchiveOutputStream(new GzipCompressorOutputStream(file))) {
      add(tar, "package/data/train-images-idx3-ubyte", IdxFiles.images(4, 3, 3));
    }
    assertThatThrownBy(() -> IdxDirectory.loadArchive(tgz, "pkg", 10, Map.of()))
        .hasMessageContaining("partial.tgz: archive has no entry named train-labels-idx1-ubyte");
  }

  private static void add(TarArchiveOutputStream tar, String name, byte[] content)
      throws IOException {
    TarArchiveEntry entry = new TarArchiveEntry(name);
    entry.setSize(content.length);
    tar.putArchiveEntry(entry);
    tar.write(content);
    tar.closeArchiveEntry();
  }

  private static String sha256(byte[] bytes) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }
}
