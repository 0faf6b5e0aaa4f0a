package io.mnistfl.samples;

import io.mnistfl.metrics.Metrics;
import io.mnistfl.tf.TfModel;
import io.mnistfl.train.Json;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Evaluates a saved model on a test set. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
    description = "Test metrics of a saved model: accuracy, macro precision/recall/F1, confusion"
        + " matrix.")
final class EvaluateCommand implements Callable<Integer> {
  @Mixin SavedModelOption model;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the metrics as JSON.")
  Optional<Path> json;

  @Mixin DataOptions data;
  @Mixin ThreadOptions threads;

  @Override
  public Integer call() throws Exception {
    var test = data.load().test();
    try (TfModel loaded = model.load(threads)) {
      Metrics m = loaded.evaluate(test);
      System.out.printf("%s on %s: %s%n%s", model.dir, test.name(), m.summary(), m.report());
      if (json.isPresent()) {
        Json.write(json.get(), m);
      }
    }
    return 0;
  }
}
