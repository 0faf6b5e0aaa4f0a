package example.readme;

import io.mnistfl.data.DataSource;

/** Your own labelled images, e.g. rows of a database: six methods, pixels in [0, 1]. */
public final class MyImages implements DataSource {
  private final float[][] pixels; // each 28 × 28, row-major
  private final int[] labels;

  /** Images and their labels, in the same order. */
  public MyImages(float[][] pixels, int[] labels) {
    this.pixels = pixels;
    this.labels = labels;
  }

  @Override
  public int size() {
    return labels.length;
  }

  @Override
  public int height() {
    return 28;
  }

  @Override
  public int width() {
    return 28;
  }

  @Override
  public int numClasses() {
    return 10;
  }

  @Override
  public int label(int index) {
    return labels[index];
  }

  @Override
  public void copyImage(int index, float[] dst, int offset) {
    System.arraycopy(pixels[index], 0, dst, offset, 28 * 28);
  }
}
