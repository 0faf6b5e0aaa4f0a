package io.mnistfl.data;

/**
 * A labelled set of single-channel images, random access by index. Host applications implement it
 * for their own images; pixels are delivered normalized to {@code [0, 1]}.
 */
public interface DataSource {

  /** Number of examples. */
  int size();

  /** Image height in pixels. */
  int height();

  /** Image width in pixels. */
  int width();

  /** Number of classes; labels lie in {@code [0, numClasses)}. */
  int numClasses();

  /** Class label of example {@code index}. */
  int label(int index);

  /** Writes example {@code index}'s {@code height·width} pixels, row-major, into {@code dst}. */
  void copyImage(int index, float[] dst, int offset);

  /** A short human-readable name (e.g. {@code mnist/train}) used in logs and training records. */
  default String name() {
    return getClass().getSimpleName();
  }

  /** Pixels per image. */
  default int imageSize() {
    return height() * width();
  }

  /** A view of the given examples, in that order, without copying pixels. */
  default DataSource subset(int[] indices) {
    return new IndexView(this, indices);
  }

  /** All labels, in index order. */
  default int[] labels() {
    int[] labels = new int[size()];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = label(i);
    }
    return labels;
  }
}
