package io.mnistfl.tf;

import io.mnistfl.data.Augmentation;
import io.mnistfl.data.DataSource;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;

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
  private final ExecutorService executor;
  private final float[] scratch;

  BatchProducer(
      DataSource data,
      int[] order,
      int batchSize,
      Augmentation augmentation,
      long seed,
      ExecutorService executor) {
    this.data = data;
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

  private Batch build(int step) {
    int start = step * batchSize;
    int size = Math.min(batchSize, order.length - start);
    int pixels = data.imageSize();
    float[] images = new float[size * pixels];
    int[] labels = new int[size];
    SplittableRandom random =
        augmentation.isIdentity() ? null : new SplittableRandom(seed * 1_000_003L + step);
    for (int i = 0; i < size; i++) {
      int index = order[start + i];
      labels[i] = data.label(index);
      if (random == null) {
        data.copyImage(index, images, i * pixels);
      } else {
        data.copyImage(index, scratch, 0);
        augmentation.apply(scratch, 0, images, i * pixels, data.height(), data.width(), random);
      }
    }
    return new Batch(size, images, labels);
  }
}
