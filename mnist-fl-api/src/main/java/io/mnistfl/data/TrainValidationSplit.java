package io.mnistfl.data;

import java.util.Arrays;
import java.util.Random;

/**
 * A seeded random split of a training set into training and validation views. The test set is never
 * part of it.
 *
 * @param train the examples to train on
 * @param validation the held-out examples for per-epoch validation (may be empty)
 */
public record TrainValidationSplit(DataSource train, DataSource validation) {

  /** The paper's split of MNIST's 60,000 training images: 54,000 / 6,000. */
  public static final int DEFAULT_VALIDATION_SIZE = 6_000;

  /**
   * Shuffles with {@code seed} and holds out {@code validationSize} examples.
   *
   * @param source the training set to split
   * @param validationSize the number of examples to hold out, in {@code [0, source.size())}
   * @param seed seeds the shuffle
   * @return the split
   * @throws IllegalArgumentException when {@code validationSize} is out of range
   */
  public static TrainValidationSplit of(DataSource source, int validationSize, long seed) {
    if (validationSize < 0 || validationSize >= source.size()) {
      throw new IllegalArgumentException(
          "validation size "
              + validationSize
              + " must be in [0, "
              + source.size()
              + ") for "
              + source.name());
    }
    int[] order = Shuffle.permutation(source.size(), new Random(seed));
    int trainSize = source.size() - validationSize;
    return new TrainValidationSplit(
        source.subset(Arrays.copyOfRange(order, 0, trainSize)),
        source.subset(Arrays.copyOfRange(order, trainSize, order.length)));
  }
}
