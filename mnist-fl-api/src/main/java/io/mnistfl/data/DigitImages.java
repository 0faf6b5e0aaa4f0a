package io.mnistfl.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Turns an arbitrary picture of one handwritten digit into an MNIST-style 28×28 image: the way
 * MNIST itself was made (light ink on black, the ink's bounding box scaled to fit 20×20 keeping its
 * aspect ratio, centred by centre of mass), with the extra steps real scans and photos need —
 * polarity detection, uneven background, specks of noise, and strokes much thinner or thicker than
 * MNIST's.
 *
 * <p>Decoding uses the JDK's {@code java.desktop} module (ImageIO), which this library requires
 * only statically, so that a server-side application does not carry AWT: on the module path, an
 * application that reads pictures adds {@code requires java.desktop;}.
 */
public final class DigitImages {
  /** MNIST's image side. */
  public static final int SIZE = 28;

  private static final int BOX = 20;

  /** Larger pictures are first reduced to this side; more detail does not help a 20 px box. */
  private static final int WORK_SIDE = 200;

  /** MNIST strokes are about 2.5 px wide in the 20 px box. */
  private static final double TARGET_STROKE_FRACTION = 2.5 / BOX;

  private DigitImages() {}

  /**
   * Pictures above this many pixels are refused unless a caller gives another cap: 50 megapixels,
   * well above any camera's, far below what a compressed "image bomb" can declare.
   */
  public static final long DEFAULT_MAX_PIXELS = 50_000_000L;

  /**
   * Pictures with a longer side than this are decoded subsampled (every n-th pixel), so memory
   * stays bounded; the preprocessing works at {@value #WORK_SIDE} pixels anyway.
   */
  private static final int DECODE_SIDE = 2048;

  /**
   * Reads and preprocesses an image file (any format ImageIO reads: PNG, JPEG, BMP, GIF) of at most
   * {@link #DEFAULT_MAX_PIXELS} pixels.
   *
   * @param file the picture to read
   * @return 784 values in {@code [0, 1]}, row-major, ink bright
   * @throws IOException naming the file when it cannot be read, holds no image or is too large
   */
  public static float[] load(Path file) throws IOException {
    return load(file, DEFAULT_MAX_PIXELS);
  }

  /**
   * Reads and preprocesses an image file, refusing one whose header declares more than {@code
   * maxPixels} pixels before anything is decoded. Large pictures are decoded subsampled.
   *
   * @param file the picture to read
   * @param maxPixels the most pixels the picture may declare
   * @return 784 values in {@code [0, 1]}, row-major, ink bright
   * @throws IOException naming the file when it cannot be read, holds no image or is too large
   */
  public static float[] load(Path file, long maxPixels) throws IOException {
    requireDesktop();
    if (!Files.isRegularFile(file)) {
      throw new IOException(file + ": no such file");
    }
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      return decode(file.toString(), in, maxPixels);
    }
  }

  /**
   * Reads and preprocesses a picture held in memory (an upload, say), refusing one whose header
   * declares more than {@code maxPixels} pixels before anything is decoded.
   *
   * @param picture the encoded picture (PNG, JPEG, BMP, GIF)
   * @param source names the picture in errors, e.g. the upload's name
   * @param maxPixels the most pixels the picture may declare
   * @return 784 values in {@code [0, 1]}, row-major, ink bright
   * @throws IOException naming {@code source} when it holds no readable image or is too large
   */
  public static float[] read(byte[] picture, String source, long maxPixels) throws IOException {
    requireDesktop();
    try (ImageInputStream in =
        new javax.imageio.stream.MemoryCacheImageInputStream(
            new java.io.ByteArrayInputStream(picture))) {
      return decode(source, in, maxPixels);
    }
  }

  /**
   * Fails with what to add unless the JDK's image decoders can be reached: on the module path they
   * are there only when the application's modules require {@code java.desktop}.
   *
   * @throws IllegalStateException naming the module to require
   */
  static void requireDesktop() {
    Module self = DigitImages.class.getModule();
    if (self.isNamed()
        && ModuleLayer.boot().findModule("java.desktop").filter(self::canRead).isEmpty()) {
      throw new IllegalStateException(
          "reading pictures needs the JDK's module java.desktop: add `requires java.desktop;` to"
              + " your module-info (or run with --add-modules java.desktop)");
    }
  }

  /** {@link #load(Path, long)} on an open stream; {@code source} names it in errors. */
  static float[] decode(String source, ImageInputStream in, long maxPixels) throws IOException {
    try {
      Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
      if (readers == null || !readers.hasNext()) {
        throw new IOException(source + ": not an image in a format this JVM reads");
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        int width = reader.getWidth(0);
        int height = reader.getHeight(0);
        long pixels = (long) width * height;
        if (width <= 0 || height <= 0 || pixels > maxPixels) {
          throw new IOException(
              String.format(
                  "%s: %d x %d pixels (%.1f megapixels) is above"
                      + " the cap of %.1f megapixels; not decoded",
                  source, width, height, pixels / 1e6, maxPixels / 1e6));
        }
        ImageReadParam param = reader.getDefaultReadParam();
        int step = (Math.max(width, height) + DECODE_SIDE - 1) / DECODE_SIDE;
        if (step > 1) {
          param.setSourceSubsampling(step, step, 0, 0);
        }
        return preprocess(reader.read(0, param));
      } finally {
        reader.dispose();
      }
    } catch (IOException e) {
      throw e.getMessage() != null && e.getMessage().startsWith(source)
          ? e
          : new IOException(source + ": not a readable image (" + e.getMessage() + ")", e);
    } catch (RuntimeException e) {
      // ImageIO's decoders throw undocumented runtime exceptions on malformed input.
      throw new IOException(source + ": not a readable image (" + e + ")", e);
    }
  }

  /**
   * Preprocesses a picture into 784 values in {@code [0, 1]}, row-major, ink bright.
   *
   * @param image the picture, any size and either polarity
   * @return the 784 values
   */
  public static float[] preprocess(BufferedImage image) {
    Gray gray = Gray.of(image);
    if (Math.max(gray.w, gray.h) > WORK_SIDE) {
      gray = gray.areaResize(WORK_SIDE);
    }
    gray.makeInkBright();
    boolean[] ink = gray.inkMask();
    keepMainComponents(ink, gray.w, gray.h);
    int[] box = boundingBox(ink, gray.w, gray.h);
    if (box == null) {
      return new float[SIZE * SIZE]; // a blank picture stays blank
    }
    Gray digit = gray.crop(box, ink);
    digit.normalizeStroke(ink, box, gray.w);
    return centerByMass(digit.fitInto(BOX));
  }

  /** Drops specks: connected ink regions much smaller than the largest. */
  private static void keepMainComponents(boolean[] ink, int w, int h) {
    int[] label = new int[ink.length];
    int[] sizes = new int[ink.length + 1];
    int next = 0;
    ArrayDeque<Integer> queue = new ArrayDeque<>();
    for (int start = 0; start < ink.length; start++) {
      if (!ink[start] || label[start] != 0) {
        continue;
      }
      next++;
      label[start] = next;
      queue.add(start);
      while (!queue.isEmpty()) {
        int p = queue.poll();
        sizes[next]++;
        int px = p % w;
        int py = p / w;
        for (int dy = -1; dy <= 1; dy++) {
          for (int dx = -1; dx <= 1; dx++) {
            int x = px + dx;
            int y = py + dy;
            if (x >= 0 && y >= 0 && x < w && y < h) {
              int q = y * w + x;
              if (ink[q] && label[q] == 0) {
                label[q] = next;
                queue.add(q);
              }
            }
          }
        }
      }
    }
    int largest = 0;
    for (int c = 1; c <= next; c++) {
      largest = Math.max(largest, sizes[c]);
    }
    int keep = Math.max(3, largest / 12);
    for (int p = 0; p < ink.length; p++) {
      if (ink[p] && sizes[label[p]] < keep) {
        ink[p] = false;
      }
    }
  }

  /** {x0, y0, x1, y1} inclusive, or null without ink. */
  private static int[] boundingBox(boolean[] ink, int w, int h) {
    int x0 = w;
    int y0 = h;
    int x1 = -1;
    int y1 = -1;
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        if (ink[y * w + x]) {
          x0 = Math.min(x0, x);
          x1 = Math.max(x1, x);
          y0 = Math.min(y0, y);
          y1 = Math.max(y1, y);
        }
      }
    }
    return x1 < 0 ? null : new int[] {x0, y0, x1, y1};
  }

  /** Places a box image in 28×28 with its centre of mass at the centre, as MNIST did. */
  private static float[] centerByMass(Gray box) {
    double mass = 0;
    double mx = 0;
    double my = 0;
    for (int y = 0; y < box.h; y++) {
      for (int x = 0; x < box.w; x++) {
        double v = box.v[y * box.w + x];
        mass += v;
        mx += v * x;
        my += v * y;
      }
    }
    double cx = mass == 0 ? (box.w - 1) / 2.0 : mx / mass;
    double cy = mass == 0 ? (box.h - 1) / 2.0 : my / mass;
    int offX = (int) Math.round((SIZE - 1) / 2.0 - cx);
    int offY = (int) Math.round((SIZE - 1) / 2.0 - cy);
    float[] out = new float[SIZE * SIZE];
    for (int y = 0; y < box.h; y++) {
      for (int x = 0; x < box.w; x++) {
        int tx = x + offX;
        int ty = y + offY;
        if (tx >= 0 && ty >= 0 && tx < SIZE && ty < SIZE) {
          out[ty * SIZE + tx] = box.v[y * box.w + x];
        }
      }
    }
    return out;
  }

  /** A grayscale picture with values in [0, 1]. */
  private static final class Gray {
    final int w;
    final int h;
    final float[] v;

    Gray(int w, int h, float[] v) {
      this.w = w;
      this.h = h;
      this.v = v;
    }

    static Gray of(BufferedImage image) {
      int w = image.getWidth();
      int h = image.getHeight();
      float[] v = new float[w * h];
      int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
      for (int i = 0; i < argb.length; i++) {
        int p = argb[i];
        double a = (p >>> 24) / 255.0;
        double lum =
            (0.299 * ((p >> 16) & 0xFF) + 0.587 * ((p >> 8) & 0xFF) + 0.114 * (p & 0xFF)) / 255.0;
        // Transparent pixels are paper: composite onto white.
        v[i] = (float) (a * lum + (1 - a));
      }
      return new Gray(w, h, v);
    }

    /** Area-average downscale so the longer side is {@code side}. */
    Gray areaResize(int side) {
      double scale = (double) side / Math.max(w, h);
      int nw = Math.max(1, (int) Math.round(w * scale));
      int nh = Math.max(1, (int) Math.round(h * scale));
      return resize(nw, nh);
    }

    /** Resize by area averaging when shrinking and bilinear sampling when growing. */
    Gray resize(int nw, int nh) {
      float[] out = new float[nw * nh];
      double sx = (double) w / nw;
      double sy = (double) h / nh;
      for (int y = 0; y < nh; y++) {
        for (int x = 0; x < nw; x++) {
          out[y * nw + x] =
              sx > 1 || sy > 1
                  ? (float) areaMean(x * sx, y * sy, (x + 1) * sx, (y + 1) * sy)
                  : (float) bilinear((x + 0.5) * sx - 0.5, (y + 0.5) * sy - 0.5);
        }
      }
      return new Gray(nw, nh, out);
    }

    private double areaMean(double x0, double y0, double x1, double y1) {
      double sum = 0;
      double area = 0;
      for (int y = (int) y0; y < Math.min(h, Math.ceil(y1)); y++) {
        double wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (int x = (int) x0; x < Math.min(w, Math.ceil(x1)); x++) {
          double wx = Math.min(x + 1, x1) - Math.max(x, x0);
          sum += v[y * w + x] * wx * wy;
          area += wx * wy;
        }
      }
      return area == 0 ? 0 : sum / area;
    }

    private double bilinear(double x, double y) {
      x = Math.max(0, Math.min(w - 1, x));
      y = Math.max(0, Math.min(h - 1, y));
      int x0 = (int) x;
      int y0 = (int) y;
      int x1 = Math.min(w - 1, x0 + 1);
      int y1 = Math.min(h - 1, y0 + 1);
      double fx = x - x0;
      double fy = y - y0;
      double top = v[y0 * w + x0] * (1 - fx) + v[y0 * w + x1] * fx;
      double bottom = v[y1 * w + x0] * (1 - fx) + v[y1 * w + x1] * fx;
      return top * (1 - fy) + bottom * fy;
    }

    /**
     * Makes ink bright on a zero background: the paper is the brightness most of the border has;
     * ink is whatever departs from it, so dark-on-light and light-on-dark both work, and an
     * unevenly lit page is flattened by subtracting a coarse local background estimate.
     */
    void makeInkBright() {
      float[] border = new float[2 * (w + h)];
      int n = 0;
      for (int x = 0; x < w; x++) {
        border[n++] = v[x];
        border[n++] = v[(h - 1) * w + x];
      }
      for (int y = 0; y < h; y++) {
        border[n++] = v[y * w];
        border[n++] = v[y * w + w - 1];
      }
      java.util.Arrays.sort(border, 0, n);
      boolean lightPaper = border[n / 2] > 0.5;
      if (lightPaper) {
        for (int i = 0; i < v.length; i++) {
          v[i] = 1 - v[i];
        }
      }
      float[] background = localBackground();
      float max = 0;
      for (int i = 0; i < v.length; i++) {
        v[i] = Math.max(0, v[i] - background[i]);
        max = Math.max(max, v[i]);
      }
      if (max > 0) {
        for (int i = 0; i < v.length; i++) {
          v[i] /= max;
        }
      }
    }

    /** Per-pixel background level: a low percentile over a coarse grid, bilinearly smoothed. */
    private float[] localBackground() {
      int cells = 4;
      float[][] level = new float[cells][cells];
      for (int cy = 0; cy < cells; cy++) {
        for (int cx = 0; cx < cells; cx++) {
          int x0 = cx * w / cells;
          int x1 = Math.max(x0 + 1, (cx + 1) * w / cells);
          int y0 = cy * h / cells;
          int y1 = Math.max(y0 + 1, (cy + 1) * h / cells);
          float[] values = new float[(x1 - x0) * (y1 - y0)];
          int k = 0;
          for (int y = y0; y < y1; y++) {
            for (int x = x0; x < x1; x++) {
              values[k++] = v[y * w + x];
            }
          }
          java.util.Arrays.sort(values);
          // The 5th percentile is paper even where a tightly cropped digit's strokes cover most
          // of a cell; a higher one (30th) took ink for background there and erased it, which
          // cost 2.7 points on re-drawn MNIST test digits and 3.9 on rendered handwriting.
          level[cy][cx] = values[(int) (0.05 * (values.length - 1))];
        }
      }
      float[] out = new float[v.length];
      for (int y = 0; y < h; y++) {
        double gy = Math.max(0, Math.min(cells - 1, (y + 0.5) * cells / h - 0.5));
        int y0 = (int) gy;
        int y1 = Math.min(cells - 1, y0 + 1);
        double fy = gy - y0;
        for (int x = 0; x < w; x++) {
          double gx = Math.max(0, Math.min(cells - 1, (x + 0.5) * cells / w - 0.5));
          int x0 = (int) gx;
          int x1 = Math.min(cells - 1, x0 + 1);
          double fx = gx - x0;
          double top = level[y0][x0] * (1 - fx) + level[y0][x1] * fx;
          double bottom = level[y1][x0] * (1 - fx) + level[y1][x1] * fx;
          out[y * w + x] = (float) (top * (1 - fy) + bottom * fy);
        }
      }
      return out;
    }

    /** Ink by Otsu's threshold on the ink-bright image. */
    boolean[] inkMask() {
      int[] hist = new int[256];
      for (float x : v) {
        hist[Math.min(255, (int) (x * 255))]++;
      }
      double total = v.length;
      double sumAll = 0;
      for (int i = 0; i < 256; i++) {
        sumAll += i * hist[i];
      }
      double sumBack = 0;
      double weightBack = 0;
      double best = -1;
      int threshold = 128;
      for (int t = 0; t < 256; t++) {
        weightBack += hist[t];
        if (weightBack == 0 || weightBack == total) {
          continue;
        }
        sumBack += t * hist[t];
        double meanBack = sumBack / weightBack;
        double meanFore = (sumAll - sumBack) / (total - weightBack);
        double between = weightBack * (total - weightBack) * Math.pow(meanBack - meanFore, 2);
        if (between > best) {
          best = between;
          threshold = t;
        }
      }
      // Never call faint noise ink: at least a fifth of full brightness.
      float cut = Math.max(0.2f, (threshold + 1) / 255f);
      boolean[] ink = new boolean[v.length];
      for (int i = 0; i < v.length; i++) {
        ink[i] = v[i] >= cut;
      }
      return ink;
    }

    /** The box's pixels, with everything that is not (near) kept ink set to zero. */
    Gray crop(int[] box, boolean[] ink) {
      int bw = box[2] - box[0] + 1;
      int bh = box[3] - box[1] + 1;
      float[] out = new float[bw * bh];
      for (int y = 0; y < bh; y++) {
        for (int x = 0; x < bw; x++) {
          int sx = box[0] + x;
          int sy = box[1] + y;
          out[y * bw + x] = nearInk(ink, sx, sy) ? v[sy * w + sx] : 0f;
        }
      }
      return new Gray(bw, bh, out);
    }

    private boolean nearInk(boolean[] ink, int x, int y) {
      for (int dy = -1; dy <= 1; dy++) {
        for (int dx = -1; dx <= 1; dx++) {
          int nx = x + dx;
          int ny = y + dy;
          if (nx >= 0 && ny >= 0 && nx < w && ny < h && ink[ny * w + nx]) {
            return true;
          }
        }
      }
      return false;
    }

    /**
     * Brings the stroke width towards MNIST's share of the box: thin pen lines are dilated, very
     * thick marker strokes eroded. Width is estimated as 2·area / perimeter of the ink.
     */
    void normalizeStroke(boolean[] ink, int[] box, int stride) {
      long area = 0;
      long perimeter = 0;
      for (int y = box[1]; y <= box[3]; y++) {
        for (int x = box[0]; x <= box[2]; x++) {
          if (!ink[y * stride + x]) {
            continue;
          }
          area++;
          if (x == box[0] || !ink[y * stride + x - 1]) perimeter++;
          if (x == box[2] || !ink[y * stride + x + 1]) perimeter++;
          if (y == box[1] || !ink[(y - 1) * stride + x]) perimeter++;
          if (y == box[3] || !ink[(y + 1) * stride + x]) perimeter++;
        }
      }
      if (area == 0 || perimeter == 0) {
        return;
      }
      double width = 2.0 * area / perimeter;
      double target = TARGET_STROKE_FRACTION * Math.max(w, h);
      int radius = (int) Math.round((target - width) / 2);
      if (radius >= 1) {
        morph(radius, true);
      } else if (radius <= -1) {
        morph(Math.min(-radius, (int) (width / 2) - 1), false);
      }
    }

    /** Separable grayscale dilation (max) or erosion (min) with a square of side 2r+1. */
    private void morph(int radius, boolean dilate) {
      if (radius < 1) {
        return;
      }
      float[] tmp = new float[v.length];
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          float best = dilate ? 0f : 1f;
          for (int k = Math.max(0, x - radius); k <= Math.min(w - 1, x + radius); k++) {
            best = dilate ? Math.max(best, v[y * w + k]) : Math.min(best, v[y * w + k]);
          }
          tmp[y * w + x] = best;
        }
      }
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          float best = dilate ? 0f : 1f;
          for (int k = Math.max(0, y - radius); k <= Math.min(h - 1, y + radius); k++) {
            best = dilate ? Math.max(best, tmp[k * w + x]) : Math.min(best, tmp[k * w + x]);
          }
          v[y * w + x] = best;
        }
      }
    }

    /** Scales to fit {@code side × side} keeping the aspect ratio; returns the scaled image. */
    Gray fitInto(int side) {
      double scale = (double) side / Math.max(w, h);
      int nw = Math.max(1, (int) Math.round(w * scale));
      int nh = Math.max(1, (int) Math.round(h * scale));
      Gray out = resize(nw, nh);
      float max = 0;
      for (float x : out.v) {
        max = Math.max(max, x);
      }
      if (max > 0) {
        for (int i = 0; i < out.v.length; i++) {
          out.v[i] = Math.min(1f, out.v[i] / max);
        }
      }
      return out;
    }
  }
}
