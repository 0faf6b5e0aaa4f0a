package io.mnistfl.data;

import java.util.Objects;

/**
 * An in-memory labelled image set stored as unsigned bytes (as in IDX files), normalized to {@code
 * [0, 1]} on read. Immutable.
 */
public final class ImageDataset implements DataSource {
  private static final float[] NORMALIZED = new float[256];

  static {
    for (int v = 0; v < 256; v++) {
      NORMALIZED[v] = v / 255f;
    }
  }

  private final String name;
  private final int rows;
  private final int cols;
  private final int numClasses;
  private final byte[] pixels;
  private final byte[] labels;

  private ImageDataset(
      String name, int rows, int cols, int numClasses, byte[] pixels, byte[] labels) {
    this.name = name;
    this.rows = rows;
    this.cols = cols;
    this.numClasses = numClasses;
    this.pixels = pixels;
    this.labels = labels;
  }

  /**
   * Pairs images with labels; the counts must match.
   *
   * @param name the data set's name, e.g. {@code mnist/train}
   * @param images the images as read from IDX
   * @param labels one label per image
   * @param numClasses the number of classes
   * @return the data set
   * @throws IllegalArgumentException naming {@code name} when they do not
   */
  public static ImageDataset of(String name, Idx.Images images, byte[] labels, int numClasses) {
    Objects.requireNonNull(name, "name");
    if (images.count() != labels.length) {
      throw new IllegalArgumentException(
          name + ": " + images.count() + " images but " + labels.length + " labels");
    }
    return new ImageDataset(
        name, images.rows(), images.cols(), numClasses, images.pixels(), labels);
  }

  @Override
  public int size() {
    return labels.length;
  }

  @Override
  public int height() {
    return rows;
  }

  @Override
  public int width() {
    return cols;
  }

  @Override
  public int numClasses() {
    return numClasses;
  }

  @Override
  public int label(int index) {
    return labels[index] & 0xFF;
  }

  @Override
  public void copyImage(int index, float[] dst, int offset) {
    int n = rows * cols;
    int base = index * n;
    for (int i = 0; i < n; i++) {
      dst[offset + i] = NORMALIZED[pixels[base + i] & 0xFF];
    }
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String toString() {
    return name + " (" + size() + " images " + rows + "x" + cols + ")";
  }
}
