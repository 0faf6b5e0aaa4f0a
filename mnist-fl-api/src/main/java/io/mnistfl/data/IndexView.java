package io.mnistfl.data;

import java.util.Arrays;

/** A {@link DataSource} that shows selected examples of another one, by index, with no copy. */
final class IndexView implements DataSource {
  private final DataSource parent;
  private final int[] indices;

  IndexView(DataSource parent, int[] indices) {
    for (int i = 0; i < indices.length; i++) {
      if (indices[i] < 0 || indices[i] >= parent.size()) {
        throw new IndexOutOfBoundsException(
            "index "
                + indices[i]
                + " at position "
                + i
                + " is outside "
                + parent.name()
                + " (size "
                + parent.size()
                + ")");
      }
    }
    this.parent = parent;
    this.indices = indices.clone();
  }

  @Override
  public int size() {
    return indices.length;
  }

  @Override
  public int height() {
    return parent.height();
  }

  @Override
  public int width() {
    return parent.width();
  }

  @Override
  public int numClasses() {
    return parent.numClasses();
  }

  @Override
  public int label(int index) {
    return parent.label(indices[index]);
  }

  @Override
  public void copyImage(int index, float[] dst, int offset) {
    parent.copyImage(indices[index], dst, offset);
  }

  @Override
  public String name() {
    return parent.name() + "[" + indices.length + "]";
  }

  @Override
  public DataSource subset(int[] subIndices) {
    int[] composed = new int[subIndices.length];
    for (int i = 0; i < subIndices.length; i++) {
      composed[i] = indices[subIndices[i]];
    }
    return new IndexView(parent, composed);
  }

  @Override
  public String toString() {
    return name() + Arrays.toString(Arrays.copyOf(indices, Math.min(5, indices.length)));
  }
}
