package io.mnistfl.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.testing.Allocation;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Preprocessing on synthetic pictures: polarity, placement, size, stroke width, noise. */
class DigitImagesTest {

  /** A "7" drawn with the given stroke into a canvas, at a position and scale. */
  private static BufferedImage seven(
      int w, int h, double x, double y, double size, float stroke, Color ink, Color paper) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(paper);
    g.fillRect(0, 0, w, h);
    g.setColor(ink);
    g.setStroke(new BasicStroke(stroke, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
    Path2D.Double path = new Path2D.Double();
    path.moveTo(x, y);
    path.lineTo(x + 0.6 * size, y);
    path.lineTo(x + 0.25 * size, y + size);
    g.draw(path);
    g.dispose();
    return img;
  }

  @Test
  void polarityDoesNotMatter() {
    float[] dark =
        DigitImages.preprocess(seven(200, 200, 60, 40, 120, 12, Color.BLACK, Color.WHITE));
    float[] light =
        DigitImages.preprocess(seven(200, 200, 60, 40, 120, 12, Color.WHITE, Color.BLACK));
    assertThat(meanAbsDiff(dark, light)).isLessThan(0.02);
    assertThat(max(dark)).isEqualTo(1f);
    // MNIST's background is exactly 0.
    assertThat(dark[0]).isZero();
  }

  @Test
  void offCentreDigitInALargeCanvasIsCentredByMassAndFitsTwentyPixels() {
    float[] out =
        DigitImages.preprocess(seven(1600, 1000, 40, 30, 300, 30, Color.BLACK, Color.WHITE));
    double[] c = centreOfMass(out);
    assertThat(c[0]).isBetween(13.5 - 1, 13.5 + 1);
    assertThat(c[1]).isBetween(13.5 - 1, 13.5 + 1);
    int[] box = inkBox(out);
    int height = box[3] - box[1] + 1;
    int width = box[2] - box[0] + 1;
    assertThat(Math.max(width, height)).isBetween(19, 21);
    assertThat(height).isGreaterThan(width); // aspect ratio kept: a 7 is taller than wide
  }

  @Test
  void thinAndThickStrokesEndUpWithSimilarInk() {
    float[] thin =
        DigitImages.preprocess(seven(800, 800, 200, 150, 500, 3, Color.BLACK, Color.WHITE));
    float[] normal =
        DigitImages.preprocess(seven(800, 800, 200, 150, 500, 60, Color.BLACK, Color.WHITE));
    float[] fat =
        DigitImages.preprocess(seven(800, 800, 200, 150, 500, 140, Color.BLACK, Color.WHITE));
    double reference = sum(normal);
    assertThat(sum(thin) / reference).isBetween(0.5, 1.6);
    assertThat(sum(fat) / reference).isBetween(0.6, 2.0);
  }

  @Test
  void specksOfNoiseDoNotMoveTheDigit() {
    BufferedImage clean = seven(300, 300, 100, 80, 140, 14, Color.BLACK, Color.WHITE);
    BufferedImage noisy = seven(300, 300, 100, 80, 140, 14, Color.BLACK, Color.WHITE);
    Random r = new Random(3);
    for (int i = 0; i < 60; i++) {
      int x = r.nextInt(299);
      int y = r.nextInt(299);
      noisy.setRGB(x, y, 0x000000);
      noisy.setRGB(x + 1, y, 0x202020);
    }
    assertThat(inkBox(DigitImages.preprocess(noisy)))
        .containsExactly(inkBox(DigitImages.preprocess(clean)));
  }

  @Test
  void unevenLightingAndGrayPaperAreFlattened() {
    BufferedImage photo =
        seven(400, 300, 150, 60, 180, 16, new Color(60, 50, 40), new Color(200, 190, 170));
    for (int y = 0; y < 300; y++) {
      for (int x = 0; x < 400; x++) {
        int rgb = photo.getRGB(x, y);
        double shade = 0.6 + 0.4 * x / 400.0; // darker on the left, like a phone photo
        int r = (int) (((rgb >> 16) & 0xFF) * shade);
        int g = (int) (((rgb >> 8) & 0xFF) * shade);
        int b = (int) ((rgb & 0xFF) * shade);
        photo.setRGB(x, y, (r << 16) | (g << 8) | b);
      }
    }
    float[] out = DigitImages.preprocess(photo);
    float[] ideal =
        DigitImages.preprocess(seven(400, 300, 150, 60, 180, 16, Color.BLACK, Color.WHITE));
    assertThat(meanAbsDiff(out, ideal)).isLessThan(0.05);
  }

  @Test
  void aTightlyCroppedBoldDigitKeepsItsInk() {
    // Strokes cover most of some background cells here; they must not be taken for paper.
    float[] tight = DigitImages.preprocess(seven(84, 84, 8, 6, 72, 18, Color.BLACK, Color.WHITE));
    float[] framed =
        DigitImages.preprocess(seven(420, 420, 176, 174, 72, 18, Color.BLACK, Color.WHITE));
    // Measured 0.032 (resampling differs between the two); taking the 30th percentile of each
    // cell for paper, as before, gave 0.095.
    assertThat(meanAbsDiff(tight, framed)).isLessThan(0.05);
  }

  @Test
  void blankPictureStaysBlank() {
    BufferedImage blank = new BufferedImage(50, 50, BufferedImage.TYPE_INT_RGB);
    assertThat(DigitImages.preprocess(blank)).containsOnly(0f);
  }

  @Test
  void transparentBackgroundCountsAsPaper(@TempDir Path dir) throws IOException {
    BufferedImage img = new BufferedImage(100, 100, BufferedImage.TYPE_INT_ARGB);
    Graphics2D g = img.createGraphics();
    g.setColor(Color.BLACK);
    g.setStroke(new BasicStroke(8));
    g.drawLine(50, 10, 50, 90);
    g.dispose();
    Path png = dir.resolve("one.png");
    ImageIO.write(img, "png", png.toFile());
    float[] out = DigitImages.load(png);
    assertThat(max(out)).isEqualTo(1f);
    assertThat(inkBox(out)[3] - inkBox(out)[1] + 1).isBetween(19, 21);
  }

  @Test
  void unreadableFilesAreNamed(@TempDir Path dir) throws IOException {
    Path text = dir.resolve("notes.png");
    Files.writeString(text, "not a picture");
    assertThatThrownBy(() -> DigitImages.load(text))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("notes.png")
        .hasMessageContaining("not an image");
    assertThatThrownBy(() -> DigitImages.load(dir.resolve("missing.jpg")))
        .hasMessageContaining("missing.jpg");
  }

  @Test
  void aPictureDeclaringMoreThanTheCapIsRefusedBeforeDecoding(@TempDir Path dir)
      throws IOException {
    // At 8822bcc this 20000 x 20000 header took 9.4 s and 1.95 GB before its error.
    Path bomb = dir.resolve("bomb.png");
    Files.write(bomb, Pngs.headerOnly(20_000, 20_000));
    long before = Allocation.bytes();
    assertThatThrownBy(() -> DigitImages.load(bomb))
        .isInstanceOf(IOException.class)
        .hasMessage(
            bomb
                + ": 20000 x 20000 pixels (400.0 megapixels) is above the cap of 50.0"
                + " megapixels; not decoded");
    assertThat(Allocation.bytes() - before).isLessThan(16L << 20);
    Path small = dir.resolve("small-cap.png");
    Files.write(small, Pngs.headerOnly(100, 100));
    assertThatThrownBy(() -> DigitImages.load(small, 9_999))
        .hasMessageContaining("above the cap of 0.0 megapixels");
  }

  @Test
  void aPictureInMemoryIsReadLikeAFileAndRefusedByTheSameCaps(@TempDir Path dir)
      throws IOException {
    BufferedImage seven = seven(300, 300, 90, 60, 180, 18, Color.BLACK, Color.WHITE);
    Path file = dir.resolve("seven.png");
    ImageIO.write(seven, "png", file.toFile());
    byte[] bytes = Files.readAllBytes(file);
    assertThat(DigitImages.read(bytes, "upload", DigitImages.DEFAULT_MAX_PIXELS))
        .containsExactly(DigitImages.load(file));
    long before = Allocation.bytes();
    assertThatThrownBy(() -> DigitImages.read(Pngs.headerOnly(20_000, 20_000), "bomb", 25_000_000))
        .isInstanceOf(IOException.class)
        .hasMessage(
            "bomb: 20000 x 20000 pixels (400.0 megapixels) is above the cap of 25.0"
                + " megapixels; not decoded");
    assertThat(Allocation.bytes() - before).isLessThan(16L << 20);
    assertThatThrownBy(() -> DigitImages.read("not a picture".getBytes(), "notes", 1000))
        .isInstanceOf(IOException.class)
        .hasMessage("notes: not an image in a format this JVM reads");
  }

  @Test
  void aLargePictureUnderTheCapIsDecodedSubsampledInBoundedMemory(@TempDir Path dir)
      throws IOException {
    // 6000 x 6000 (36 megapixels): decoded whole, its pixels alone would take 36 MB as bytes,
    // 144 MB as ARGB ints and 144 MB again as floats.
    Path large = dir.resolve("large.png");
    Pngs.write(
        large,
        6000,
        6000,
        (y, row) -> {
          java.util.Arrays.fill(row, (byte) 255);
          if (y >= 1000 && y < 5000) {
            java.util.Arrays.fill(row, 2700, 3300, (byte) 0); // a thick vertical stroke: a "1"
          }
        });
    long before = Allocation.bytes();
    float[] out = DigitImages.load(large);
    assertThat(Allocation.bytes() - before).isLessThan(120L << 20);
    int[] box = inkBox(out);
    assertThat(box[3] - box[1] + 1).isBetween(19, 21);
    assertThat(centreOfMass(out)[0]).isCloseTo(13.5, org.assertj.core.data.Offset.offset(1.0));
  }

  @Test
  void malformedDataAfterAValidHeaderGivesTheDocumentedError(@TempDir Path dir) throws IOException {
    byte[] header = Pngs.headerOnly(64, 64);
    // An IDAT chunk whose zlib stream is garbage, inserted before IEND.
    byte[] broken = java.util.Arrays.copyOf(header, header.length + 16);
    System.arraycopy(header, header.length - 12, broken, header.length + 4, 12);
    java.nio.ByteBuffer.wrap(broken, header.length - 12, 16)
        .putInt(4)
        .put("IDAT".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
        .putInt(0x12345678)
        .putInt(0);
    Path file = dir.resolve("garbage-idat.png");
    Files.write(file, broken);
    assertThatThrownBy(() -> DigitImages.load(file))
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith(file + ": not a readable image");
  }

  static double[] centreOfMass(float[] img) {
    double mass = 0;
    double mx = 0;
    double my = 0;
    for (int i = 0; i < img.length; i++) {
      mass += img[i];
      mx += (i % 28) * img[i];
      my += (i / 28) * img[i];
    }
    return new double[] {mx / mass, my / mass};
  }

  static int[] inkBox(float[] img) {
    int x0 = 28;
    int y0 = 28;
    int x1 = -1;
    int y1 = -1;
    for (int i = 0; i < img.length; i++) {
      if (img[i] > 0.05f) {
        x0 = Math.min(x0, i % 28);
        x1 = Math.max(x1, i % 28);
        y0 = Math.min(y0, i / 28);
        y1 = Math.max(y1, i / 28);
      }
    }
    return new int[] {x0, y0, x1, y1};
  }

  private static double meanAbsDiff(float[] a, float[] b) {
    double d = 0;
    for (int i = 0; i < a.length; i++) {
      d += Math.abs(a[i] - b[i]);
    }
    return d / a.length;
  }

  private static float max(float[] a) {
    float m = 0;
    for (float v : a) {
      m = Math.max(m, v);
    }
    return m;
  }

  private static double sum(float[] a) {
    double s = 0;
    for (float v : a) {
      s += v;
    }
    return s;
  }
}
