package io.mnistfl.data;

import java.util.Random;

/** Seeded Fisher–Yates permutations, the one shuffle used everywhere so seeds mean the same. */
public final class Shuffle {
  private Shuffle() {}

  /**
   * A random permutation of {@code 0..n-1}.
   *
   * @param n the number of elements
   * @param random the source of randomness
   * @return the permutation
   */
  public static int[] permutation(int n, Random random) {
    int[] order = new int[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    shuffle(order, random);
    return order;
  }

  /**
   * Shuffles {@code values} in place.
   *
   * @param values the array to shuffle
   * @param random the source of randomness
   */
  public static void shuffle(int[] values, Random random) {
    for (int i = values.length - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = values[i];
      values[i] = values[j];
      values[j] = t;
    }
  }
}
