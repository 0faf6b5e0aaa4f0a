package io.mnistfl.samples;

import io.mnistfl.tf.TfOptions;
import java.util.Optional;
import picocli.CommandLine.Option;

/** {@code --threads}, {@code --replicas}: how TensorFlow uses the cores. */
final class ThreadOptions {
  @Option(
      names = "--threads",
      paramLabel = "N",
      description = "TensorFlow threads in all (default: all cores).")
  Optional<Integer> threads;

  @Option(
      names = "--replicas",
      paramLabel = "N",
      description =
          "Split each training batch into N parts trained concurrently, gradients "
              + "summed (models without batch norm; default: 2 where there are 2 cores).")
  Optional<Integer> replicas;

  TfOptions tfOptions() {
    TfOptions base = threads.map(TfOptions::threads).orElse(TfOptions.defaults());
    return new TfOptions(base.threads(), replicas.orElse(base.replicas()));
  }
}
