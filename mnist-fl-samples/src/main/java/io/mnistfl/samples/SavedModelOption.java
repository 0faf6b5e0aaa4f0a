package io.mnistfl.samples;

import io.mnistfl.tf.TfModel;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --model DIR}: a model saved by {@code train}. */
final class SavedModelOption {
  @Option(
      names = "--model",
      paramLabel = "DIR",
      defaultValue = "runs/baseline/model",
      description = "Saved model directory (default: ${DEFAULT-VALUE}).")
  Path dir;

  TfModel load(ThreadOptions threads) throws IOException {
    return TfModel.load(dir, threads.tfOptions());
  }
}
