package io.mnistfl.samples;

import io.mnistfl.data.DataSource;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.ConvolveOp;
import java.awt.image.Kernel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;

/**
 * Renders MNIST test digits (writers disjoint from MNIST's training writers) the way people hand us
 * digits: scanned or photographed at any size, either polarity, on gray or unevenly lit paper, with
 * thin or thick pens, blur, sensor noise and wide margins, saved as PNG, JPEG, BMP or GIF.
 */
final class Handwriting {
  private Handwriting() {}

  static Path render(DataSource source, int index, Path dir, Random r) throws IOException {
    float[] px = new float[28 * 28];
    source.copyImage(index, px, 0);
    int style = index % 4;
    if (style == 1) {
      px = morph(px, true); // felt-tip: thicker
    } else if (style == 2) {
      px = morph(px, false); // fine pen: thinner
    }
    int scale = 6 + r.nextInt(14);
    int side = 28 * scale;
    int width = side + 40 + r.nextInt(side);
    int height = side + 40 + r.nextInt(side / 2 + 1);
    BufferedImage digit = new BufferedImage(28, 28, BufferedImage.TYPE_INT_RGB);
    boolean lightOnDark = index % 5 == 0;
    int paper = lightOnDark ? 20 + r.nextInt(30) : 170 + r.nextInt(80);
    int ink = lightOnDark ? 230 : 10 + r.nextInt(60);
    for (int i = 0; i < px.length; i++) {
      int v = (int) (paper + (ink - paper) * px[i]);
      digit.setRGB(i % 28, i / 28, gray(v));
    }
    BufferedImage canvas = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = canvas.createGraphics();
    g.setColor(new java.awt.Color(gray(paper)));
    g.fillRect(0, 0, width, height);
    g.setRenderingHint(
        RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
    g.drawImage(digit, r.nextInt(width - side + 1), r.nextInt(height - side + 1), side, side, null);
    g.dispose();
    if (r.nextBoolean()) {
      float[] blur = new float[25];
      java.util.Arrays.fill(blur, 1f / 25);
      canvas =
          new ConvolveOp(new Kernel(5, 5, blur), ConvolveOp.EDGE_NO_OP, null).filter(canvas, null);
    }
    double light = r.nextDouble() * 0.4;
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int v = canvas.getRGB(x, y) & 0xFF;
        double shade = 1 - light * x / width; // lamp on one side
        v = (int) (v * shade + r.nextGaussian() * 8);
        canvas.setRGB(x, y, gray(Math.max(0, Math.min(255, v))));
      }
    }
    String[] formats = {"png", "jpg", "bmp", "gif"};
    String format = formats[index % formats.length];
    Path file = dir.resolve("digit-" + index + "-label-" + source.label(index) + "." + format);
    ImageIO.write(canvas, format, file.toFile());
    return file;
  }

  private static int gray(int v) {
    return (v << 16) | (v << 8) | v;
  }

  /** 3×3 max (dilate) or min (erode) on the 28×28 digit. */
  private static float[] morph(float[] px, boolean dilate) {
    float[] out = new float[px.length];
    for (int y = 0; y < 28; y++) {
      for (int x = 0; x < 28; x++) {
        float best = dilate ? 0 : 1;
        for (int dy = -1; dy <= 1; dy++) {
          for (int dx = -1; dx <= 1; dx++) {
            int nx = Math.max(0, Math.min(27, x + dx));
            int ny = Math.max(0, Math.min(27, y + dy));
            float v = px[ny * 28 + nx];
            best = dilate ? Math.max(best, v) : Math.min(best, v);
          }
        }
        out[y * 28 + x] = dilate ? best : (best + px[y * 28 + x]) / 2;
      }
    }
    return out;
  }
}
