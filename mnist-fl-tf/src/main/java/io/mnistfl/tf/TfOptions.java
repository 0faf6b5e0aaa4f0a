package io.mnistfl.tf;

/**
 * TensorFlow session settings. Results are bit-reproducible for a given seed and settings.
 *
 * @param threads CPU threads TensorFlow uses in all
 * @param replicas ways the training step's work is divided, each part on {@code threads / replicas}
 *     threads: the layers before the first dense layer run on that many parts of the batch, and
 *     large dense kernels are held in that many blocks of rows, each with its own product, gradient
 *     and update. The same step up to float rounding. On 2 cores a baseline step takes 1.7 ms with
 *     2 replicas of one thread against 2.6 ms in one pass on two threads, as one small op gains
 *     little from a second thread. Models with batch normalization use one pass, since splitting
 *     the batch would change its statistics; so does a batch that does not split evenly.
 */
public record TfOptions(int threads, int replicas) {

  /**
   * Checks that both counts are at least 1.
   *
   * @param threads CPU threads TensorFlow uses in all
   * @param replicas ways the training step's work is divided
   * @throws IllegalArgumentException naming the count below 1
   */
  public TfOptions {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, was " + threads);
    }
    if (replicas < 1) {
      throw new IllegalArgumentException("replicas must be >= 1, was " + replicas);
    }
  }

  /**
   * All cores, in two replicas where there are at least two.
   *
   * @return the settings
   */
  public static TfOptions defaults() {
    return threads(Runtime.getRuntime().availableProcessors());
  }

  /**
   * {@code threads} threads, in two replicas where there are at least two.
   *
   * @param threads CPU threads TensorFlow uses in all, at least 1
   * @return the settings
   */
  public static TfOptions threads(int threads) {
    return new TfOptions(threads, Math.min(2, Math.max(1, threads)));
  }
}
