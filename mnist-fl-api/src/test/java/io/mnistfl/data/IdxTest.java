package io.mnistfl.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.testing.Allocation;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxTest {

  @Test
  void readsImagesWithTheirHeaderDimensions() throws IOException {
    byte[] file = IdxFiles.images(3, 4, 5);
    Idx.Images images = Idx.readImages("imgs", new ByteArrayInputStream(file));
    assertThat(images.count()).isEqualTo(3);
    assertThat(images.rows()).isEqualTo(4);
    assertThat(images.cols()).isEqualTo(5);
    assertThat(images.pixels()).containsExactly(Arrays.copyOfRange(file, 16, file.length));
  }

  @Test
  void readsGzipDetectedFromContent() throws IOException {
    byte[] raw = IdxFiles.labels(1, 2, 9);
    byte[] labels = Idx.readLabels("labels.bin", new ByteArrayInputStream(IdxFiles.gzip(raw)), 10);
    assertThat(labels).containsExactly(1, 2, 9);
  }

  @Test
  void rejectsBadMagicNamingTheFile() {
    byte[] file = IdxFiles.images(1, 2, 2);
    file[0] = 0x12;
    assertThatThrownBy(() -> Idx.readImages("x/train-images", new ByteArrayInputStream(file)))
        .isInstanceOf(IdxFormatException.class)
        .hasMessageStartingWith("x/train-images: bad IDX magic number 0x12000803");
  }

  @Test
  void rejectsNonByteDataType() {
    byte[] file = IdxFiles.images(1, 2, 2);
    file[2] = 0x0D; // float
    assertThatThrownBy(() -> Idx.readImages("f", new ByteArrayInputStream(file)))
        .hasMessageContaining("data type 0x0D is not unsigned byte");
  }

  @Test
  void rejectsLabelsFileWhereImagesExpected() {
    byte[] file = IdxFiles.labels(1, 2);
    assertThatThrownBy(() -> Idx.readImages("labels-as-images", new ByteArrayInputStream(file)))
        .hasMessageContaining("IDX rank 1 but expected 3 (an images file)");
  }

  @Test
  void rejectsTruncatedPayloadWithCounts() {
    byte[] file = Arrays.copyOf(IdxFiles.images(2, 3, 3), 16 + 10);
    assertThatThrownBy(() -> Idx.readImages("short", new ByteArrayInputStream(file)))
        .isInstanceOf(IdxFormatException.class)
        .hasMessage("short: truncated: header declares 18 data bytes but only 10 follow");
  }

  @Test
  void rejectsTruncatedHeader() {
    byte[] file = Arrays.copyOf(IdxFiles.images(2, 3, 3), 10);
    assertThatThrownBy(() -> Idx.readImages("hdr", new ByteArrayInputStream(file)))
        .hasMessage("hdr: file ends inside the header at dimension 1");
  }

  @Test
  void rejectsEmptyFile() {
    assertThatThrownBy(() -> Idx.readImages("empty", new ByteArrayInputStream(new byte[0])))
        .hasMessage("empty: file ends inside the 4-byte IDX magic number");
  }

  @Test
  void rejectsTrailingBytes() {
    byte[] file = Arrays.copyOf(IdxFiles.labels(1, 2), 11);
    assertThatThrownBy(() -> Idx.readLabels("long", new ByteArrayInputStream(file), 10))
        .hasMessageContaining("trailing bytes after the 2 data bytes");
  }

  @Test
  void rejectsLabelOutOfRangeWithItsIndex() {
    byte[] file = IdxFiles.labels(3, 10, 1);
    assertThatThrownBy(() -> Idx.readLabels("lab", new ByteArrayInputStream(file), 10))
        .hasMessage("lab: label 10 at index 1 is outside 0..9");
  }

  @Test
  void rejectsZeroOrNegativeDimension() {
    byte[] file = IdxFiles.images(1, 2, 2);
    ByteBuffer.wrap(file).putInt(8, -4);
    assertThatThrownBy(() -> Idx.readImages("neg", new ByteArrayInputStream(file)))
        .hasMessage("neg: dimension 1 is -4, expected > 0");
  }

  @Test
  void rejectsAbsurdHeaderBeforeAllocating() {
    byte[] file = IdxFiles.images(1, 2, 2);
    ByteBuffer.wrap(file).putInt(4, 100_000).putInt(8, 1000).putInt(12, 1000);
    assertThatThrownBy(() -> Idx.readImages("huge", new ByteArrayInputStream(file)))
        .isInstanceOf(IdxFormatException.class)
        .hasMessage(
            "huge: header declares 100000000000 data bytes, more than the cap of "
                + Idx.DEFAULT_MAX_PAYLOAD_BYTES
                + " bytes");
  }

  @Test
  void dimensionsWhoseProductOverflowsAreRefused() {
    // Found by hand at 8822bcc: accepted then, its product wrapping around to a small number.
    byte[] file = IdxFiles.images(1, 2, 2);
    ByteBuffer.wrap(file).putInt(4, 40769).putInt(8, 1830494838).putInt(12, 247672158);
    assertThatThrownBy(() -> Idx.readImages("wrap", new ByteArrayInputStream(file)))
        .isInstanceOf(IdxFormatException.class)
        .hasMessage(
            "wrap: dimensions 40769 x 1830494838 x 247672158 overflow: their product"
                + " exceeds 2^63 bytes");
    ByteBuffer.wrap(file)
        .putInt(4, Integer.MAX_VALUE)
        .putInt(8, Integer.MAX_VALUE)
        .putInt(12, Integer.MAX_VALUE);
    assertThatThrownBy(() -> Idx.readImages("max", new ByteArrayInputStream(file)))
        .isInstanceOf(IdxFormatException.class)
        .hasMessageContaining("overflow");
  }

  @Test
  void aHeaderClaimingMoreThanIsPresentAllocatesOnlyWhatArrives() {
    // 2^22 x 2^21 x 2^21 (2^64, wrapping to 0) with no payload was accepted at 8822bcc. Under
    // a cap that allows a claim, the reader must still fail on the missing bytes without
    // allocating what the header claims.
    byte[] header = Arrays.copyOf(IdxFiles.images(1, 1, 1), 16);
    ByteBuffer.wrap(header).putInt(4, 1 << 22).putInt(8, 1 << 21).putInt(12, 1 << 21);
    assertThatThrownBy(() -> Idx.readImages("empty-body", new ByteArrayInputStream(header)))
        .isInstanceOf(IdxFormatException.class)
        .hasMessageContaining("overflow");
    ByteBuffer.wrap(header).putInt(4, 1000).putInt(8, 1000).putInt(12, 1000);
    long before = Allocation.bytes();
    assertThatThrownBy(
            () -> Idx.readImages("claims-1gb", new ByteArrayInputStream(header), Long.MAX_VALUE))
        .isInstanceOf(IdxFormatException.class)
        .hasMessage(
            "claims-1gb: truncated: header declares 1000000000 data bytes but only 0" + " follow");
    assertThat(Allocation.bytes() - before).isLessThan(8L << 20);
  }

  @Test
  void gzipPayloadsAreCappedAsTheyAreRead() throws IOException {
    byte[] raw = IdxFiles.images(40, 28, 28);
    assertThatThrownBy(
            () ->
                Idx.readImages(
                    "small-cap.gz", new ByteArrayInputStream(IdxFiles.gzip(raw)), 28 * 28 * 10))
        .isInstanceOf(IdxFormatException.class)
        .hasMessage(
            "small-cap.gz: header declares 31360 data bytes, more than the cap of 7840" + " bytes");
    assertThat(
            Idx.readImages("fits.gz", new ByteArrayInputStream(IdxFiles.gzip(raw)), 28 * 28 * 40)
                .count())
        .isEqualTo(40);
  }

  @Test
  void directoryLoadingWithoutChecksumsNamesTheHostileFile(@TempDir Path dir) throws IOException {
    byte[] images = IdxFiles.images(2, 2, 2);
    ByteBuffer.wrap(images).putInt(4, 40769).putInt(8, 1830494838).putInt(12, 247672158);
    Files.write(dir.resolve(IdxDirectory.TRAIN_IMAGES), images);
    Files.write(dir.resolve(IdxDirectory.TRAIN_LABELS), IdxFiles.labels(1, 2));
    Files.write(dir.resolve(IdxDirectory.TEST_IMAGES), IdxFiles.images(2, 2, 2));
    Files.write(dir.resolve(IdxDirectory.TEST_LABELS), IdxFiles.labels(1, 2));
    assertThatThrownBy(() -> IdxDirectory.load(dir, "mine", 10))
        .isInstanceOf(IdxFormatException.class)
        .hasMessageStartingWith(dir.resolve(IdxDirectory.TRAIN_IMAGES) + ": dimensions");
  }

  @Test
  void datasetRejectsImageLabelCountMismatch() throws IOException {
    Idx.Images images = Idx.readImages("i", new ByteArrayInputStream(IdxFiles.images(3, 2, 2)));
    byte[] labels = {1, 2};
    assertThatThrownBy(() -> ImageDataset.of("mnist/train", images, labels, 10))
        .hasMessage("mnist/train: 3 images but 2 labels");
  }

  @Test
  void datasetNormalizesPixelsToUnitRange() throws IOException {
    Idx.Images images = Idx.readImages("i", new ByteArrayInputStream(IdxFiles.images(2, 2, 2)));
    ImageDataset data = ImageDataset.of("d", images, new byte[] {4, 7}, 10);
    float[] out = new float[4];
    data.copyImage(1, out, 0);
    for (int i = 0; i < 4; i++) {
      assertThat(out[i]).isEqualTo((images.pixels()[4 + i] & 0xFF) / 255f);
    }
    assertThat(data.label(1)).isEqualTo(7);
  }
}
