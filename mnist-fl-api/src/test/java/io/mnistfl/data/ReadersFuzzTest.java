package io.mnistfl.data;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.mnistfl.testing.Fuzzing;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Fuzz targets for the readers of files a user hands us: IDX images and labels, and pictures for
 * {@code predict}. Plain {@code mvn test} runs them over the committed seeds in {@code
 * src/test/resources/io/mnistfl/data/ReadersFuzzTestInputs/}; {@code JAZZER_FUZZ=1} fuzzes.
 */
class ReadersFuzzTest {
  private static final long IDX_CAP = 1 << 20;

  @FuzzTest
  void idxImages(byte[] file) {
    // A cap of 1 MiB of pixels: buffers of at most twice that, plus gzip's, may be allocated.
    Fuzzing.expectOnly(
        6 * IDX_CAP,
        () -> Idx.readImages("fuzz", new ByteArrayInputStream(file), IDX_CAP),
        IOException.class);
  }

  @FuzzTest
  void idxLabels(byte[] file) {
    Fuzzing.expectOnly(
        6 * IDX_CAP,
        () -> Idx.readLabels("fuzz", new ByteArrayInputStream(file), 10, IDX_CAP),
        IOException.class);
  }

  @FuzzTest
  void pictures(byte[] file) {
    // One megapixel at most: decoded as ARGB ints, then floats, then the preprocessing's
    // working copies at 200 pixels a side.
    Fuzzing.expectOnly(
        96L << 20,
        () ->
            DigitImages.decode(
                "fuzz", new MemoryCacheImageInputStream(new ByteArrayInputStream(file)), 1_000_000),
        IOException.class);
  }
}
