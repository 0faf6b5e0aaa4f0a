package io.mnistfl.tf;

/**
 * TensorFlow session settings. Results are bit-reproducible for a given seed and settings.
 *
 * @param threads CPU threads TensorFlow uses in all
 * @param replicas parts a training batch is split into and computed concurrently, each on
 *     {@code threads / replicas} threads, their gradients summed: the same step up to float
 *     rounding. On 2 cores the baseline trains 19 % faster with 2 replicas of one thread than with
 *     one pass on two threads, as one small op gains little from a second thread. Models with
 *     batch normalization use one pass, since splitting the batch would change its statistics.
 */
public record TfOptions(int threads, int replicas) {

  public TfOptions {
    if (threads < 1 || replicas < 1) {
      throw new IllegalArgumentException(
          "threads and replicas must be >= 1, were " + threads + " and " + replicas);
    }
  }

  /** All cores, in two replicas where there are at least two. */
  public static TfOptions defaults() {
    return threads(Runtime.getRuntime().availableProcessors());
  }

  /** {@code threads} threads, in two replicas where there are at least two. */
  public static TfOptions threads(int threads) {
    return new TfOptions(threads, Math.min(2, Math.max(1, threads)));
  }
}
