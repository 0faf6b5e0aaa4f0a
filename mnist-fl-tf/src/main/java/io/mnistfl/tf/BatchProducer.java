package io.mnistfl.tf;

import io.mnistfl.data.Augmentation;
import io.mnistfl.data.DataSource;
import io.mnistfl.data.Examples;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * Assembles training batches (copy, optional augmentation) one step ahead on a helper thread, so
 * the next batch is ready when TensorFlow finishes the current one. Each batch's augmentation is
 * seeded from (seed, epoch, step), so results do not depend on timing.
 */
final class BatchProducer {
  /** One batch: {@code size} images and labels. Arrays are exactly as long as the batch. */
  record Batch(int size, float[] images, int[] labels) {}

  private final DataSource data;
  private final int[] order;
  private final int batchSize;
  private final Augmentation augmentation;
  private final long seed;
  private final Executor executor;
  private final int numClasses;
  private final float[] scratch;

  BatchProducer(
      DataSource data,
      int numClasses,
      int[] order,
      int batchSize,
      Augmentation augmentation,
      long seed,
      Executor executor) {
    this.data = data;
    this.numClasses = numClasses;
    this.order = order;
    this.batchSize = batchSize;
    this.augmentation = augmentation;
    this.seed = seed;
    this.executor = executor;
    this.scratch = new float[data.imageSize()];
  }

  int steps() {
    return (order.length + batchSize - 1) / batchSize;
  }

  CompletableFuture<Batch> prepare(int step) {
    return CompletableFuture.supplyAsync(() -> build(step), executor);
  }

  /** Step {@code step}'s batch, on the calling thread. */
  Batch build(int step) {
    int start = step * batchSize;
    int size = Math.min(batchSize, order.length - start);
    int pixels = data.imageSize();
    float[] images = new float[size * pixels];
    int[] labels = new int[size];
    SplittableRandom random =
        augmentation.isIdentity() ? null : new SplittableRandom(seed * 1_000_003L + step);
    for (int i = 0; i < size; i++) {
      int index = order[start + i];
      labels[i] = Examples.label(data, index, numClasses);
      Examples.copyImage(data, index, scratch);
      if (random == null) {
        System.arraycopy(scratch, 0, images, i * pixels, pixels);
      } else {
        augmentation.apply(scratch, 0, images, i * pixels, data.height(), data.width(), random);
      }
    }
    return new Batch(size, images, labels);
  }
}
