package io.mnistfl.samples;

import io.mnistfl.tf.TfOptions;
import java.util.Optional;
import picocli.CommandLine.Option;

/** {@code --threads}: TensorFlow intra-op threads. */
final class ThreadOptions {
  @Option(names = "--threads", paramLabel = "N",
      description = "TensorFlow intra-op threads (default: all cores).")
  Optional<Integer> threads;

  TfOptions tfOptions() {
    return threads.map(n -> new TfOptions(n, TfOptions.defaults().interOpThreads()))
        .orElse(TfOptions.defaults());
  }
}
