package io.mnistfl.samples;

import io.mnistfl.data.DataSource;
import io.mnistfl.data.ImageFolder;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.NpzWeights;
import io.mnistfl.tf.TfModel;
import io.mnistfl.train.Json;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Evaluates a saved model on a test set. */
@Command(
    name = "evaluate",
    mixinStandardHelpOptions = true,
    description =
        "Test metrics of a saved model: accuracy, macro precision/recall/F1, confusion"
            + " matrix, on the data set's test set or on your own labelled pictures (--images;"
            + " unreadable ones get an error line on stderr and exit status 1). With --weights,"
            + " the weights of an .npz (e.g. a Flower run's final.npz) in the --model's layout.")
final class EvaluateCommand implements Callable<Integer> {
  @Mixin SavedModelOption model;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the metrics as JSON.")
  Optional<Path> json;

  @Option(
      names = "--weights",
      paramLabel = "FILE.npz",
      description =
          "Score these weights instead of the model's own: a NumPy .npz of float32 arrays in the"
              + " model's order (entries arr_0, arr_1, ... or the model's array names), checked"
              + " against the model's shapes; --model may then also be a preset's name.")
  Optional<Path> weights;

  @Mixin ImagesOption images;
  @Mixin DataOptions data;
  @Mixin ThreadOptions threads;

  @Override
  public Integer call() throws Exception {
    try (TfModel loaded = load()) {
      DataSource test;
      List<String> skipped = List.of();
      if (images.dir.isPresent()) {
        ImageFolder.Loaded pictures = images.load();
        test = pictures.images();
        skipped = pictures.skipped();
      } else {
        test = data.load().test();
      }
      Metrics m = loaded.evaluate(test);
      System.out.printf(
          "%s on %s: %s%n%s",
          weights.map(w -> w + " in " + model.dir).orElse(model.dir.toString()),
          test.name(),
          m.summary(),
          m.report());
      if (json.isPresent()) {
        Json.write(json.get(), m);
      }
      return skipped.isEmpty() ? 0 : 1;
    }
  }

  /** The saved model, or the --model's layout holding the --weights. */
  private TfModel load() throws java.io.IOException {
    if (weights.isEmpty()) {
      return model.load(threads);
    }
    ModelSpec spec = ModelChoice.spec(model.dir.toString());
    io.mnistfl.model.Weights w = NpzWeights.read(weights.get(), spec);
    TfModel created = TfModel.create(spec, threads.tfOptions());
    created.setWeights(w);
    return created;
  }
}
