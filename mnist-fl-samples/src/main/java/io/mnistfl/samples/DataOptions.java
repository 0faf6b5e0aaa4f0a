package io.mnistfl.samples;

import io.mnistfl.data.StandardDataset;
import io.mnistfl.data.TrainTestData;
import io.mnistfl.tf.TfModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/** Where the data comes from: {@code --dataset} and {@code --data}. */
final class DataOptions {
  @Option(
      names = "--dataset",
      defaultValue = "mnist",
      description = "Data set: mnist or fashion-mnist (default: ${DEFAULT-VALUE}).")
  String dataset;

  @Option(
      names = "--data",
      paramLabel = "DIR",
      description =
          "Directory with the four IDX files (raw or .gz); fetched and verified into it"
              + " when missing, from the data set's mirrors ($MNIST_FL_MIRRORS overrides)."
              + " Default: ~/.cache/mnist-fl/<dataset> ($MNIST_FL_CACHE overrides).")
  Optional<Path> dir;

  /** The data set; first checks TensorFlow's natives, so a missing one fails before the data. */
  TrainTestData load() throws IOException {
    TfModel.requireNatives();
    StandardDataset set = StandardDataset.fromId(dataset);
    Path where = dir.orElse(StandardDataset.defaultCacheRoot().resolve(set.id()));
    long start = System.nanoTime();
    TrainTestData data = set.load(where, new DownloadProgress());
    System.out.printf(
        "data: %s from %s (%d train, %d test, checksums verified) in %.1fs%n",
        set.id(),
        where,
        data.train().size(),
        data.test().size(),
        (System.nanoTime() - start) / 1e9);
    return data;
  }
}
