package io.mnistfl.data;

import com.fasterxml.jackson.annotation.JsonIgnore;
import java.util.SplittableRandom;

/**
 * Random affine distortion of training images — rotation, zoom and shift about the image centre,
 * bilinear sampling, zero outside — as in the paper's augmented runs (±10°, ±10 %, ±2 px).
 *
 * @param maxRotationDegrees rotation drawn uniformly from {@code [-max, max]} degrees
 * @param maxZoom scale drawn uniformly from {@code [1 - max, 1 + max]}
 * @param maxShiftPixels horizontal and vertical shift, each uniform in {@code [-max, max]}
 */
public record Augmentation(double maxRotationDegrees, double maxZoom, double maxShiftPixels) {

  /** No distortion: images pass through unchanged. */
  public static final Augmentation NONE = new Augmentation(0, 0, 0);

  /** The paper's setting: ±10°, ±10 % zoom, ±2 px shift. */
  public static final Augmentation STANDARD = new Augmentation(10, 0.10, 2);

  /**
   * Checks that every bound lies in its range.
   *
   * @param maxRotationDegrees the largest rotation, in {@code [0, 180]} degrees
   * @param maxZoom the largest relative zoom, in {@code [0, 1)}
   * @param maxShiftPixels the largest shift, at least 0 pixels
   * @throws IllegalArgumentException naming the first bound out of range
   */
  public Augmentation {
    if (!(maxRotationDegrees >= 0 && maxRotationDegrees <= 180)) {
      throw new IllegalArgumentException(
          "maxRotationDegrees must be in [0, 180], was " + maxRotationDegrees);
    }
    if (!(maxZoom >= 0 && maxZoom < 1)) {
      throw new IllegalArgumentException("maxZoom must be in [0, 1), was " + maxZoom);
    }
    if (!(maxShiftPixels >= 0)) {
      throw new IllegalArgumentException("maxShiftPixels must be >= 0, was " + maxShiftPixels);
    }
  }

  /**
   * True when this augmentation changes nothing.
   *
   * @return whether all three bounds are zero
   */
  @JsonIgnore
  public boolean isIdentity() {
    return maxRotationDegrees == 0 && maxZoom == 0 && maxShiftPixels == 0;
  }

  /**
   * Writes a randomly distorted copy of one {@code height × width} image from {@code src} at {@code
   * srcOffset} to {@code dst} at {@code dstOffset}. The two must not overlap.
   *
   * @param src the source images
   * @param srcOffset where the image starts in {@code src}
   * @param dst where the distorted image is written
   * @param dstOffset where the image starts in {@code dst}
   * @param height image height in pixels
   * @param width image width in pixels
   * @param random draws the rotation, zoom and shift
   */
  public void apply(
      float[] src,
      int srcOffset,
      float[] dst,
      int dstOffset,
      int height,
      int width,
      SplittableRandom random) {
    double angle = Math.toRadians(uniform(random, maxRotationDegrees));
    double scale = 1 + uniform(random, maxZoom);
    double shiftX = uniform(random, maxShiftPixels);
    double shiftY = uniform(random, maxShiftPixels);
    // Inverse map: for every output pixel, where in the source does it come from?
    double cos = Math.cos(angle) / scale;
    double sin = Math.sin(angle) / scale;
    double cx = (width - 1) / 2.0;
    double cy = (height - 1) / 2.0;
    for (int y = 0; y < height; y++) {
      double dy = y - cy - shiftY;
      for (int x = 0; x < width; x++) {
        double dx = x - cx - shiftX;
        double sx = cos * dx + sin * dy + cx;
        double sy = -sin * dx + cos * dy + cy;
        dst[dstOffset + y * width + x] = sample(src, srcOffset, height, width, sx, sy);
      }
    }
  }

  private static double uniform(SplittableRandom random, double max) {
    return max == 0 ? 0 : (random.nextDouble() * 2 - 1) * max;
  }

  private static float sample(float[] src, int offset, int height, int width, double x, double y) {
    int x0 = (int) Math.floor(x);
    int y0 = (int) Math.floor(y);
    if (x0 < -1 || y0 < -1 || x0 >= width || y0 >= height) {
      return 0f;
    }
    double fx = x - x0;
    double fy = y - y0;
    double top =
        lerp(
            pixel(src, offset, height, width, x0, y0),
            pixel(src, offset, height, width, x0 + 1, y0),
            fx);
    double bottom =
        lerp(
            pixel(src, offset, height, width, x0, y0 + 1),
            pixel(src, offset, height, width, x0 + 1, y0 + 1),
            fx);
    return (float) lerp(top, bottom, fy);
  }

  private static double lerp(double a, double b, double t) {
    return a + (b - a) * t;
  }

  private static float pixel(float[] src, int offset, int height, int width, int x, int y) {
    return x < 0 || y < 0 || x >= width || y >= height ? 0f : src[offset + y * width + x];
  }
}
