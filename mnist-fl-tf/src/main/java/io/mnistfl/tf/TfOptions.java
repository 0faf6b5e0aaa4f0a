package io.mnistfl.tf;

/**
 * TensorFlow session settings.
 *
 * @param intraOpThreads threads one op (a convolution, a matmul) may use; results are
 *     bit-reproducible for a given seed and thread count
 * @param interOpThreads ops run concurrently
 */
public record TfOptions(int intraOpThreads, int interOpThreads) {

  public TfOptions {
    if (intraOpThreads < 1 || interOpThreads < 1) {
      throw new IllegalArgumentException(
          "thread counts must be >= 1, were intra " + intraOpThreads + ", inter " + interOpThreads);
    }
  }

  /** All cores for each op, one op at a time: fastest for these small networks. */
  public static TfOptions defaults() {
    return new TfOptions(Runtime.getRuntime().availableProcessors(), 1);
  }
}
