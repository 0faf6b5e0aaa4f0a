package io.mnistfl.data;

import java.util.Arrays;

/**
 * Reads one example of a {@link DataSource} the way a backend prepares a batch, and checks it on
 * the way: the label must be one of the model's classes and every pixel a number in [0, 1], written
 * by {@code copyImage} inside its slot. A host application's bad row then fails at once with an
 * {@link InvalidExampleException} naming the source, the index and the value, instead of deep in
 * the backend or, worse, training silently to NaN weights. The checks cost one pass over the pixels
 * the batch copies anyway.
 */
public final class Examples {
  private Examples() {}

  /**
   * Example {@code index}'s label, checked against {@code numClasses}.
   *
   * @param source the data source
   * @param index the example
   * @param numClasses the model's classes
   * @return the label, in [0, numClasses)
   * @throws InvalidExampleException when the label is outside [0, numClasses)
   */
  public static int label(DataSource source, int index, int numClasses) {
    int label = source.label(index);
    if (label < 0 || label >= numClasses) {
      throw new InvalidExampleException(
          source.name(),
          index,
          "label " + label + " is outside 0.." + (numClasses - 1) + ", the model's classes");
    }
    return label;
  }

  /**
   * Copies example {@code index}'s pixels into {@code scratch}, which must hold exactly one image,
   * and checks them.
   *
   * @param source the data source
   * @param index the example
   * @param scratch an array of exactly {@code source.imageSize()} values; overwritten
   * @throws InvalidExampleException when {@code copyImage} writes outside the image's slot or
   *     leaves part of it unwritten, or a pixel is outside [0, 1] or not a number
   */
  public static void copyImage(DataSource source, int index, float[] scratch) {
    // NaN marks every pixel copyImage must write: one it leaves is found below.
    Arrays.fill(scratch, Float.NaN);
    try {
      source.copyImage(index, scratch, 0);
    } catch (IndexOutOfBoundsException e) {
      throw new InvalidExampleException(
          source.name(),
          index,
          "copyImage wrote outside the image's "
              + scratch.length
              + " pixels ("
              + e.getMessage()
              + ")");
    }
    for (int p = 0; p < scratch.length; p++) {
      float v = scratch[p];
      if (!(v >= 0f && v <= 1f)) {
        throw new InvalidExampleException(
            source.name(),
            index,
            "pixel "
                + p
                + " (row "
                + p / source.width()
                + ", column "
                + p % source.width()
                + ") is "
                + v
                + (v > 1f && v <= 255f ? ", pixels must be in [0, 1] (divide by 255?)" : "")
                + (Float.isNaN(v) ? ": not a number, or not written by copyImage" : "")
                + (v < 0f || Float.isInfinite(v) ? ", pixels must be in [0, 1]" : ""));
      }
    }
  }
}
