package io.mnistfl.samples;

import io.mnistfl.data.Augmentation;
import io.mnistfl.data.DataSource;
import io.mnistfl.data.TrainTestData;
import io.mnistfl.data.TrainValidationSplit;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.tf.TfModel;
import io.mnistfl.tf.TfOptions;
import io.mnistfl.train.EpochResult;
import io.mnistfl.train.Json;
import io.mnistfl.train.LocalTraining;
import io.mnistfl.train.Provenance;
import io.mnistfl.train.TrainingRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Trains a preset on MNIST, evaluates it on the test set and saves model, metrics and plots. */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    description = "Train a CNN, evaluate it on the test set, save model + metrics.json + plots.")
final class TrainCommand implements Callable<Integer> {
  /** Epochs that reach the documented accuracy for each preset. */
  static final Map<String, Integer> DEFAULT_EPOCHS =
      Map.of("baseline", 15, "regularized", 30, "mcmahan-cnn", 10);

  @Option(
      names = "--model",
      defaultValue = "baseline",
      description = "baseline, regularized or mcmahan-cnn (default: ${DEFAULT-VALUE}).")
  String model;

  @Option(
      names = "--epochs",
      description = "Epochs (default: baseline 15, regularized 30," + " mcmahan-cnn 10).")
  Optional<Integer> epochs;

  @Option(names = "--batch-size", description = "Batch size (default: the preset's).")
  Optional<Integer> batchSize;

  @Option(names = "--lr", description = "Learning rate (default: the preset's).")
  Optional<Double> learningRate;

  @Option(
      names = "--lr-decay",
      paramLabel = "FACTOR",
      description = "Multiply the learning rate by this after every epoch (default: the preset's).")
  Optional<Double> learningRateDecay;

  @Option(
      names = "--augment",
      negatable = true,
      description =
          "Randomly rotate (±10°), zoom (±10 %%) and shift (±2 px) training images"
              + " (default: the preset's: on for regularized, off otherwise).")
  Optional<Boolean> augment;

  @Option(names = "--seed", defaultValue = "42", description = "Seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(
      names = "--validation-size",
      defaultValue = "6000",
      description = "Training images held out for validation (default: ${DEFAULT-VALUE}).")
  int validationSize;

  @Option(
      names = "--limit",
      paramLabel = "N",
      description = "Use only the first N training images (quick runs; default: all).")
  Optional<Integer> limit;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      description = "Output directory (default: runs/<model>).")
  Optional<Path> out;

  @Mixin DataOptions data;
  @Mixin ThreadOptions threads;

  @Override
  public Integer call() throws Exception {
    ModelSpec.Builder builder = ModelSpec.preset(model).toBuilder().seed(seed);
    batchSize.ifPresent(builder::batchSize);
    learningRateDecay.ifPresent(builder::learningRateDecay);
    augment.ifPresent(on -> builder.augmentation(on ? Augmentation.STANDARD : Augmentation.NONE));
    ModelSpec spec = builder.build();
    int epochCount = epochs.orElse(DEFAULT_EPOCHS.get(model));
    Path dir = out.orElse(Path.of("runs", model));
    // Every option is checked before the data set is loaded.
    LocalTraining training = LocalTraining.of(spec).withEpochs(epochCount).withSeed(seed);
    if (learningRate.isPresent()) {
      training = training.withLearningRate(learningRate.get());
    }
    TfOptions tfOptions = threads.tfOptions();
    TrainTestData mnist = data.load();
    DataSource pool =
        limit
            .map(
                n ->
                    mnist
                        .train()
                        .subset(IntStream.range(0, Math.min(n, mnist.train().size())).toArray()))
            .orElse(mnist.train());
    TrainValidationSplit split = TrainValidationSplit.of(pool, validationSize, seed);
    System.out.printf(
        "model: %s, %,d trainable parameters, %d epochs, batch %d, %s, "
            + "augmentation %s, seed %d%n",
        spec.name(),
        spec.trainableParameterCount(),
        epochCount,
        spec.batchSize(),
        spec.optimizer(),
        spec.augmentation().isIdentity() ? "off" : "on",
        seed);

    try (TfModel tf = TfModel.create(spec, tfOptions)) {
      long start = System.nanoTime();
      List<EpochResult> history =
          tf.fit(split.train(), split.validation(), training, new ConsoleProgress());
      double wall = (System.nanoTime() - start) / 1e9;
      Metrics test = tf.evaluate(mnist.test());
      System.out.printf("test: %s%n%s", test.summary(), test.report());
      System.out.printf("training wall time %.1fs (%d epochs)%n", wall, epochCount);

      Provenance provenance =
          Provenance.builder(spec)
              .setting("training.epochs", training.epochs())
              .setting("training.batchSize", training.batchSize())
              .setting("training.learningRate", training.learningRate())
              .setting("training.seed", training.seed())
              .setting("data.validationExamples", split.validation().size())
              .setting("data.limit", limit.map(String::valueOf).orElse("none"))
              .data(mnist.train().name(), split.train().size())
              .backend(TfModel.BACKEND)
              .build();
      TrainingRecord record = new TrainingRecord(provenance, history, Optional.of(test), wall);
      tf.save(dir.resolve("model"), record);
      Files.createDirectories(dir);
      Json.write(dir.resolve("metrics.json"), test);
      HistoryFiles.writeEpochs(dir, history);
      if (split.validation().size() > 0) {
        String source =
            String.format(
                "%s validation split (%d examples, seed %d)",
                mnist.train().name(), split.validation().size(), seed);
        CalibrateCommand.calibrate(tf, split.validation(), source, mnist.test())
            .write(dir.resolve("model"));
      }
      System.out.printf(
          "saved: %s (model/ with calibration.json, metrics.json, history.csv, loss.png,"
              + " accuracy.png)%n",
          dir);
    }
    return 0;
  }
}
