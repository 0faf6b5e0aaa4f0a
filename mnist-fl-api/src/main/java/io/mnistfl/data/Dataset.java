package io.mnistfl.data;

import java.io.IOException;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * A data set the library can load: its published training and test parts, fetched into a directory
 * on first use and verified on every load. {@link StandardDataset} holds the ones this library
 * ships; {@link MirroredDataset} makes one for any data set in MNIST's IDX layout that mirrors
 * serve, and an application implements this interface for any other (one partitioned by writer,
 * say) without changing the library.
 */
public interface Dataset {

  /**
   * The data set's short name, e.g. {@code mnist}: its cache sub-directory and the prefix of its
   * parts' names.
   *
   * @return the short name
   */
  String id();

  /**
   * Loads the data set from {@code dir}, fetching it into {@code dir} first when it is not there.
   *
   * @param dir the directory holding, or to receive, the files
   * @param listener told how downloads go
   * @return the training and test parts
   * @throws IOException when the files cannot be fetched, read or verified
   */
  TrainTestData load(Path dir, DownloadListener listener) throws IOException;

  /**
   * Loads the data set from {@code dir}, fetching it first when missing, without reporting
   * progress.
   *
   * @param dir the directory holding, or to receive, the files
   * @return the training and test parts
   * @throws IOException when the files cannot be fetched, read or verified
   */
  default TrainTestData load(Path dir) throws IOException {
    return load(dir, DownloadListener.NONE);
  }

  /**
   * Loads the data set from {@code defaultCacheRoot()/id()}, fetching it on first use.
   *
   * @return the training and test parts
   * @throws IOException when the files cannot be fetched, read or verified
   */
  default TrainTestData load() throws IOException {
    return load(defaultCacheRoot().resolve(id()));
  }

  /**
   * The default cache, {@code $MNIST_FL_CACHE} or {@code ~/.cache/mnist-fl}; each data set lives in
   * a sub-directory named after its {@link #id()}.
   *
   * @return the cache root
   */
  static Path defaultCacheRoot() {
    String env = System.getenv("MNIST_FL_CACHE");
    if (env != null && !env.isBlank()) {
      return Paths.get(env);
    }
    return Paths.get(System.getProperty("user.home"), ".cache", "mnist-fl");
  }
}
