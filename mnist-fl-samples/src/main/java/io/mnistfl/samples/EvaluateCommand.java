package io.mnistfl.samples;

import io.mnistfl.data.DataSource;
import io.mnistfl.data.ImageFolder;
import io.mnistfl.metrics.Metrics;
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
            + " unreadable ones get an error line on stderr and exit status 1).")
final class EvaluateCommand implements Callable<Integer> {
  @Mixin SavedModelOption model;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the metrics as JSON.")
  Optional<Path> json;

  @Mixin ImagesOption images;
  @Mixin DataOptions data;
  @Mixin ThreadOptions threads;

  @Override
  public Integer call() throws Exception {
    try (TfModel loaded = model.load(threads)) {
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
      System.out.printf("%s on %s: %s%n%s", model.dir, test.name(), m.summary(), m.report());
      if (json.isPresent()) {
        Json.write(json.get(), m);
      }
      return skipped.isEmpty() ? 0 : 1;
    }
  }
}
