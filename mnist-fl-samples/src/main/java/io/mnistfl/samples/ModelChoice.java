package io.mnistfl.samples;

import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import io.mnistfl.train.ModelDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * A {@code --model} that is a preset's name or a folder saved by {@code train}/{@code federate}.
 */
final class ModelChoice {
  private static final Set<String> PRESETS = Set.of("baseline", "regularized", "mcmahan-cnn");

  private ModelChoice() {}

  /** The spec of a preset, or of the saved model in folder {@code value}. */
  static ModelSpec spec(String value) throws IOException {
    if (PRESETS.contains(value)) {
      return ModelSpec.preset(value);
    }
    return saved(value).spec();
  }

  /** A preset's initial weights (from its seed), or the saved model's weights. */
  static Weights weights(String value) throws IOException {
    if (PRESETS.contains(value)) {
      return ModelSpec.preset(value).initialWeights();
    }
    return saved(value).weights();
  }

  private static ModelDirectory saved(String value) throws IOException {
    Path dir = Path.of(value);
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException(
          "--model takes baseline, regularized, mcmahan-cnn or a saved model folder; "
              + value
              + " is neither");
    }
    return ModelDirectory.read(dir);
  }
}
