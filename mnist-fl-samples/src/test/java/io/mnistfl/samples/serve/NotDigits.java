package io.mnistfl.samples.serve;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * What people draw on the page that is no digit: scribbles (random pen walks) and capital letters
 * drawn as strokes, on a 280×280 canvas with the page's pen, each with a little hand jitter.
 */
final class NotDigits {
  private NotDigits() {}

  /** Letters as pen strokes in a 0..1 box: lists of polylines {x0, y0, x1, y1, ...}. */
  static final Map<Character, double[][]> LETTERS =
      Map.ofEntries(
          Map.entry('A', new double[][] {{0.1, 1, 0.5, 0, 0.9, 1}, {0.27, 0.6, 0.73, 0.6}}),
          Map.entry('E', new double[][] {{0.85, 0, 0.2, 0, 0.2, 1, 0.85, 1}, {0.2, 0.5, 0.7, 0.5}}),
          Map.entry('F', new double[][] {{0.85, 0, 0.2, 0, 0.2, 1}, {0.2, 0.5, 0.7, 0.5}}),
          Map.entry(
              'H', new double[][] {{0.15, 0, 0.15, 1}, {0.85, 0, 0.85, 1}, {0.15, 0.5, 0.85, 0.5}}),
          Map.entry('K', new double[][] {{0.2, 0, 0.2, 1}, {0.85, 0, 0.2, 0.55, 0.85, 1}}),
          Map.entry('M', new double[][] {{0.05, 1, 0.15, 0, 0.5, 0.6, 0.85, 0, 0.95, 1}}),
          Map.entry('N', new double[][] {{0.15, 1, 0.15, 0, 0.85, 1, 0.85, 0}}),
          Map.entry('W', new double[][] {{0.02, 0, 0.25, 1, 0.5, 0.35, 0.75, 1, 0.98, 0}}),
          Map.entry('X', new double[][] {{0.1, 0, 0.9, 1}, {0.9, 0, 0.1, 1}}),
          Map.entry('Y', new double[][] {{0.1, 0, 0.5, 0.5, 0.9, 0}, {0.5, 0.5, 0.5, 1}}),
          Map.entry(
              'R',
              new double[][] {
                {0.2, 1, 0.2, 0, 0.7, 0, 0.85, 0.15, 0.85, 0.35, 0.7, 0.5, 0.2, 0.5},
                {0.5, 0.5, 0.85, 1}
              }),
          Map.entry('T', new double[][] {{0.05, 0, 0.95, 0}, {0.5, 0, 0.5, 1}}));

  static BufferedImage canvas() {
    BufferedImage img = new BufferedImage(280, 280, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, 280, 280);
    g.dispose();
    return img;
  }

  private static Graphics2D pen(BufferedImage img) {
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(new Color(0x11, 0x11, 0x11));
    g.setStroke(new BasicStroke(20, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
    return g;
  }

  /** A letter drawn in a box of 150 to 200 pixels, shifted and jittered by up to 6 pixels. */
  static BufferedImage letter(char c, Random r) {
    BufferedImage img = canvas();
    Graphics2D g = pen(img);
    double w = 150 + r.nextInt(50);
    double h = 150 + r.nextInt(50);
    double x0 = 20 + r.nextInt((int) (260 - w));
    double y0 = 20 + r.nextInt((int) (260 - h));
    for (double[] line : LETTERS.get(c)) {
      int n = line.length / 2;
      int[] xs = new int[n];
      int[] ys = new int[n];
      for (int k = 0; k < n; k++) {
        xs[k] = (int) (x0 + line[2 * k] * w + r.nextGaussian() * 3);
        ys[k] = (int) (y0 + line[2 * k + 1] * h + r.nextGaussian() * 3);
      }
      g.drawPolyline(xs, ys, n);
    }
    g.dispose();
    return img;
  }

  /** A scribble: one pen walk of 8 to 20 random strokes across the canvas. */
  static BufferedImage scribble(Random r) {
    BufferedImage img = canvas();
    Graphics2D g = pen(img);
    int n = 8 + r.nextInt(13);
    int[] xs = new int[n];
    int[] ys = new int[n];
    for (int k = 0; k < n; k++) {
      xs[k] = 30 + r.nextInt(220);
      ys[k] = 30 + r.nextInt(220);
    }
    g.drawPolyline(xs, ys, n);
    g.dispose();
    return img;
  }

  static List<Character> letters() {
    return new ArrayList<>(new java.util.TreeSet<>(LETTERS.keySet()));
  }
}
