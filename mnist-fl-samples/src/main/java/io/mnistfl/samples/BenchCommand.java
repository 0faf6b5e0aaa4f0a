package io.mnistfl.samples;

import io.mnistfl.data.Augmentation;
import io.mnistfl.data.DataSource;
import io.mnistfl.data.TrainTestData;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import io.mnistfl.tf.StepProfile;
import io.mnistfl.tf.TfModel;
import io.mnistfl.tf.TfOptions;
import io.mnistfl.train.EpochResult;
import io.mnistfl.train.LocalTraining;
import io.mnistfl.train.TrainingListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The benchmark: the baseline CNN for one epoch of all 60,000 training images, printed as a {@code
 * RESULT} line in the format of the peer harness (DJL, DL4J), plus weight swap time, augmentation
 * throughput and, optionally, resident memory over many epochs.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description =
        "Baseline CNN, one epoch over 60k images per batch size; prints RESULT lines"
            + " like ../shared/peers/run-peers.sh, then weight get+set and augmentation timings.")
final class BenchCommand implements Callable<Integer> {
  @Option(
      names = "--batch-sizes",
      split = ",",
      defaultValue = "32,128",
      description = "Batch sizes to time (default: ${DEFAULT-VALUE}).")
  List<Integer> batchSizes;

  @Option(
      names = "--steps",
      description =
          "Smoke test: train on only as many images as this"
              + " many batches of the first batch size hold (default: the full epoch).")
  int steps;

  @Option(
      names = "--rss-epochs",
      defaultValue = "0",
      description = "Also train this many epochs and print resident memory after each.")
  int rssEpochs;

  @Option(
      names = "--profile",
      paramLabel = "MODEL",
      description =
          "Instead: time one training step of MODEL (baseline, regularized, mcmahan-cnn) at its"
              + " batch size, and print where the time goes by TensorFlow op type.")
  Optional<String> profile;

  @Mixin DataOptions data;
  @Mixin ThreadOptions threads;

  @Override
  public Integer call() throws Exception {
    TrainTestData mnist = data.load();
    if (profile.isPresent()) {
      return profile(ModelSpec.preset(profile.get()), mnist.train());
    }
    DataSource train =
        steps > 0 ? mnist.train().subset(range(steps * batchSizes.get(0))) : mnist.train();
    DataSource none = train.subset(new int[0]);
    for (int batch : batchSizes) {
      ModelSpec spec = ModelSpec.baseline().toBuilder().batchSize(batch).build();
      try (TfModel model = TfModel.create(spec, threads.tfOptions())) {
        EpochResult epoch =
            model
                .fit(train, none, LocalTraining.of(spec).withSeed(42), TrainingListener.NONE)
                .get(0);
        long evalStart = System.nanoTime();
        double accuracy = model.evaluate(mnist.test()).accuracy();
        double evalSeconds = (System.nanoTime() - evalStart) / 1e9;
        int stepCount = (train.size() + batch - 1) / batch;
        System.out.printf(
            "INFO mnist-fl batch=%d eval_s=%.2f threads=%s%n",
            batch, evalSeconds, threads.tfOptions());
        System.out.printf(
            "RESULT lib=mnist-fl-tfjava%s epoch_s=%.2f test_acc=%.4f" + " steps_per_s=%.1f%n",
            batch == 32 ? "" : "-b" + batch,
            epoch.seconds(),
            accuracy,
            stepCount / epoch.seconds());
        if (batch == batchSizes.get(0)) {
          weightSwap(model);
        }
      }
    }
    augmentation(mnist.train());
    if (rssEpochs > 0) {
      memory(train);
    }
    return 0;
  }

  private int profile(ModelSpec spec, DataSource train) {
    TfOptions options = threads.tfOptions();
    try (TfModel model = TfModel.create(spec, options)) {
      StepProfile p = StepProfile.measure(model, train, 300);
      System.out.printf(
          "PROFILE model=%s batch=%d %s wall_ms=%.3f op_ms=%.3f%n",
          spec.name(), p.batchSize(), options, p.wallMillis(), p.opMillis());
      List<StepProfile.OpTime> shown = p.ops().subList(0, Math.min(12, p.ops().size()));
      double listed = 0;
      for (StepProfile.OpTime op : shown) {
        System.out.printf(
            "PROFILE op=%s ms=%.3f per_step=%.1f share=%.1f%%%n",
            op.type(), op.millis(), op.count(), 100 * op.millis() / p.opMillis());
        listed += op.millis();
      }
      System.out.printf(
          "PROFILE op=(the other %d types) ms=%.3f%n",
          p.ops().size() - shown.size(), p.opMillis() - listed);
    }
    return 0;
  }

  private static int[] range(int n) {
    return java.util.stream.IntStream.range(0, n).toArray();
  }

  private static void weightSwap(TfModel model) {
    for (int i = 0; i < 20; i++) {
      model.setWeights(model.weights());
    }
    int n = 200;
    long get = 0;
    long set = 0;
    for (int i = 0; i < n; i++) {
      long t0 = System.nanoTime();
      Weights w = model.weights();
      long t1 = System.nanoTime();
      model.setWeights(w);
      set += System.nanoTime() - t1;
      get += t1 - t0;
    }
    Weights w = model.weights();
    System.out.printf(
        "INFO weights get=%.3fms set=%.3fms get+set=%.3fms (%d floats, mean of %d)%n",
        get / 1e6 / n, set / 1e6 / n, (get + set) / 1e6 / n, w.scalarCount(), n);
  }

  private static void augmentation(DataSource train) {
    int pixels = train.imageSize();
    float[] src = new float[pixels];
    float[] dst = new float[pixels];
    SplittableRandom random = new SplittableRandom(1);
    long start = System.nanoTime();
    for (int i = 0; i < train.size(); i++) {
      train.copyImage(i, src, 0);
      Augmentation.STANDARD.apply(src, 0, dst, 0, train.height(), train.width(), random);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf(
        "INFO augmentation %d images in %.2fs on one thread (%.0f images/s)%n",
        train.size(), seconds, train.size() / seconds);
  }

  private void memory(DataSource train) throws IOException {
    ModelSpec spec = ModelSpec.baseline();
    try (TfModel model = TfModel.create(spec, threads.tfOptions())) {
      DataSource none = train.subset(new int[0]);
      for (int e = 1; e <= rssEpochs; e++) {
        model.fit(train, none, LocalTraining.of(spec).withSeed(e), TrainingListener.NONE);
        System.out.printf("INFO rss epoch=%d rss_mb=%d%n", e, rssMegabytes());
      }
    }
  }

  static long rssMegabytes() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
      }
    }
    return -1;
  }
}
