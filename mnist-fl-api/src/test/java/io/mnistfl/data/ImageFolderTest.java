package io.mnistfl.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.Shape;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A folder of class subfolders: labels from folder names, bad pictures skipped and named. */
class ImageFolderTest {

  private static void draw(Path file, String format, Shape digit) throws IOException {
    BufferedImage img = new BufferedImage(120, 160, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, 120, 160);
    g.setColor(Color.BLACK);
    g.setStroke(new BasicStroke(9, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
    g.draw(digit);
    g.dispose();
    Files.createDirectories(file.getParent());
    assertThat(ImageIO.write(img, format, file.toFile())).isTrue();
  }

  private static Shape seven() {
    Path2D.Double path = new Path2D.Double();
    path.moveTo(25, 30);
    path.lineTo(95, 30);
    path.lineTo(50, 135);
    return path;
  }

  @Test
  void labelsComeFromFolderNamesAndABadPictureIsSkippedAndNamed(@TempDir Path dir)
      throws IOException {
    draw(dir.resolve("0/a.png"), "png", new Ellipse2D.Double(25, 20, 70, 120));
    draw(dir.resolve("0/b.jpg"), "jpg", new Ellipse2D.Double(30, 30, 60, 100));
    draw(dir.resolve("1/a.png"), "png", new Line2D.Double(60, 20, 55, 140));
    draw(dir.resolve("7/a.bmp"), "bmp", seven());
    Files.write(dir.resolve("7/broken.png"), new byte[] {1, 2, 3, 4});
    Files.writeString(dir.resolve("README.txt"), "not a class");
    Files.createDirectories(dir.resolve(".thumbnails"));

    ImageFolder.Loaded loaded = ImageFolder.load(dir, 10);

    ImageDataset images = loaded.images();
    assertThat(images.size()).isEqualTo(4);
    assertThat(images.labels()).containsExactly(0, 0, 1, 7);
    assertThat(images.height()).isEqualTo(28);
    assertThat(loaded.skipped())
        .containsExactly(dir.resolve("7/broken.png") + ": not an image in a format this JVM reads");
    // Each picture is what predict would see, kept to MNIST's 8 bits.
    float[] one = new float[784];
    images.copyImage(2, one, 0);
    float[] expected = DigitImages.load(dir.resolve("1/a.png"));
    for (int k = 0; k < 784; k++) {
      assertThat(one[k]).isCloseTo(expected[k], within(0.5f / 255));
    }
    assertThat(max(one)).isEqualTo(1f);
  }

  @Test
  void anErrorWhileReadingOnePictureStaysWithThatPicture(@TempDir Path dir) throws IOException {
    draw(dir.resolve("0/a.png"), "png", new Ellipse2D.Double(25, 20, 70, 120));
    draw(dir.resolve("1/a.png"), "png", new Line2D.Double(60, 20, 55, 140));
    draw(dir.resolve("1/b.png"), "png", new Line2D.Double(58, 25, 57, 135));
    Path bomb = dir.resolve("1/a.png");

    // The caps keep real pictures from reaching an OutOfMemoryError, so one is injected.
    ImageFolder.Loaded loaded =
        ImageFolder.load(
            dir,
            10,
            file -> {
              if (file.equals(bomb)) {
                throw new OutOfMemoryError("Java heap space (injected)");
              }
              return DigitImages.load(file);
            });

    assertThat(loaded.images().labels()).containsExactly(0, 1);
    assertThat(loaded.skipped())
        .containsExactly(bomb + ": java.lang.OutOfMemoryError: Java heap space (injected)");
  }

  @Test
  void aFolderThatIsNotLaidOutByClassIsRejectedByName(@TempDir Path dir) throws IOException {
    assertThatThrownBy(() -> ImageFolder.load(dir.resolve("missing"), 10))
        .hasMessage(dir.resolve("missing") + ": no such folder");
    draw(dir.resolve("sevens/a.png"), "png", seven());
    assertThatThrownBy(() -> ImageFolder.load(dir, 10))
        .hasMessage(
            dir.resolve("sevens") + ": not a class folder; expected subfolders named 0" + " to 9");
    Files.delete(dir.resolve("sevens/a.png"));
    Files.delete(dir.resolve("sevens"));
    Files.createDirectories(dir.resolve("3"));
    Files.write(dir.resolve("3/broken.png"), new byte[] {9});
    assertThatThrownBy(() -> ImageFolder.load(dir, 10))
        .hasMessage(dir + ": no readable digit pictures in subfolders 0 to 9 (1 unreadable)");
  }

  private static float max(float[] values) {
    float m = 0;
    for (float v : values) {
      m = Math.max(m, v);
    }
    return m;
  }
}
