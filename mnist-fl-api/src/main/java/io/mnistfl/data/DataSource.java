package io.mnistfl.data;

/**
 * A labelled set of single-channel images, random access by index. Host applications implement it
 * for their own images; pixels are delivered normalized to {@code [0, 1]}.
 */
public interface DataSource {

  /**
   * Number of examples.
   *
   * @return the number of examples
   */
  int size();

  /**
   * Image height in pixels.
   *
   * @return the image height in pixels
   */
  int height();

  /**
   * Image width in pixels.
   *
   * @return the image width in pixels
   */
  int width();

  /**
   * Number of classes; labels lie in {@code [0, numClasses)}.
   *
   * @return the number of classes
   */
  int numClasses();

  /**
   * Class label of example {@code index}.
   *
   * @param index the example, in {@code [0, size())}
   * @return its label, in {@code [0, numClasses())}
   */
  int label(int index);

  /**
   * Writes example {@code index}'s {@code height·width} pixels, row-major, into {@code dst}.
   *
   * @param index the example, in {@code [0, size())}
   * @param dst the array to write into
   * @param offset where in {@code dst} the image starts
   */
  void copyImage(int index, float[] dst, int offset);

  /**
   * A short human-readable name (e.g. {@code mnist/train}) used in logs and training records.
   *
   * @return the name
   */
  default String name() {
    return getClass().getSimpleName();
  }

  /**
   * Pixels per image.
   *
   * @return {@code height() * width()}
   */
  default int imageSize() {
    return height() * width();
  }

  /**
   * A view of the given examples, in that order, without copying pixels.
   *
   * @param indices the examples to keep, as indexes into this source
   * @return the view
   */
  default DataSource subset(int[] indices) {
    return new IndexView(this, indices);
  }

  /**
   * All labels, in index order.
   *
   * @return one label per example
   */
  default int[] labels() {
    int[] labels = new int[size()];
    for (int i = 0; i < labels.length; i++) {
      labels[i] = label(i);
    }
    return labels;
  }
}
