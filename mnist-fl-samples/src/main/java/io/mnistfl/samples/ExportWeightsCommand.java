package io.mnistfl.samples;

import io.mnistfl.model.NpzWeights;
import io.mnistfl.model.Weights;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** A model's weights as NumPy's .npz, e.g. the initial arrays of a Flower ServerApp. */
@Command(
    name = "export-weights",
    mixinStandardHelpOptions = true,
    description =
        "Write a model's weights as a NumPy .npz, one float32 C-order array per entry named after"
            + " the array (conv2d_0/kernel, ...), in the model's order: the initial arrays a Flower"
            + " ServerApp starts from (np.load(FILE) lists them in order), for Java sites of the"
            + " same --model to train.")
final class ExportWeightsCommand implements Callable<Integer> {
  @Option(
      names = "--model",
      paramLabel = "MODEL",
      defaultValue = "baseline",
      description =
          "baseline, regularized or mcmahan-cnn (its seeded initial weights), or a saved model"
              + " folder (its trained weights) (default: ${DEFAULT-VALUE}).")
  String model;

  @Option(names = "--out", paramLabel = "FILE.npz", required = true, description = "The file.")
  Path out;

  @Override
  public Integer call() throws Exception {
    Weights weights = ModelChoice.weights(model);
    NpzWeights.write(weights, out);
    System.out.printf(
        "%s: %d float32 arrays of %s (%,d values): %s%n",
        out, weights.arrays().size(), model, weights.scalarCount(), weights.arrays());
    return 0;
  }
}
