package io.mnistfl.samples;

import io.mnistfl.data.DataSource;
import io.mnistfl.data.TrainTestData;
import io.mnistfl.data.TrainValidationSplit;
import io.mnistfl.predict.Calibration;
import io.mnistfl.predict.Verdict;
import io.mnistfl.predict.VerdictRule;
import io.mnistfl.tf.TfModel;
import io.mnistfl.train.Json;
import io.mnistfl.train.Provenance;
import io.mnistfl.train.TrainingRecord;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * Temperature scaling of a trained model on its own validation split, rebuilt from its provenance;
 * saves {@code calibration.json} beside the model for {@code predict} and {@code serve}.
 */
@Command(
    name = "calibrate",
    mixinStandardHelpOptions = true,
    description =
        "Fit the temperature that makes a trained model's probabilities honest, on the validation"
            + " split it held out (rebuilt from its provenance), report the expected calibration"
            + " error before and after on that split and on the test set, and save"
            + " calibration.json into the model's folder (train does this by itself).")
final class CalibrateCommand implements Callable<Integer> {
  @Mixin SavedModelOption model;
  @Mixin DataOptions data;
  @Mixin ThreadOptions threads;

  @Override
  public Integer call() throws Exception {
    TrainingRecord record = Json.read(model.dir.resolve("training.json"), TrainingRecord.class);
    Map<String, String> settings = record.provenance().settings();
    if (!settings.containsKey("data.validationExamples")
        || !settings.containsKey("training.seed")) {
      throw new IOException(
          model.dir
              + " records no validation split (a federated model, or one saved before 0.2):"
              + " there is nothing it did not train on to calibrate with");
    }
    TrainTestData mnist = data.load();
    DataSource validation = validationSplit(mnist.train(), record.provenance());
    try (TfModel loaded = model.load(threads)) {
      Calibration c =
          calibrate(
              loaded,
              validation,
              source(mnist.train(), validation, record.provenance()),
              mnist.test());
      c.write(model.dir);
      System.out.println("saved: " + model.dir.resolve(Calibration.FILE));
    }
    return 0;
  }

  /** The validation split {@code train} held out, from the settings it recorded. */
  static DataSource validationSplit(DataSource train, Provenance provenance) {
    Map<String, String> settings = provenance.settings();
    int size = Integer.parseInt(settings.get("data.validationExamples"));
    long seed = Long.parseLong(settings.get("training.seed"));
    String limit = settings.getOrDefault("data.limit", "none");
    DataSource pool =
        limit.equals("none")
            ? train
            : train.subset(
                IntStream.range(0, Math.min(Integer.parseInt(limit), train.size())).toArray());
    return TrainValidationSplit.of(pool, size, seed).validation();
  }

  /** Names the validation split for the record. */
  static String source(DataSource train, DataSource validation, Provenance provenance) {
    return String.format(
        "%s validation split (%d examples, seed %s)",
        train.name(), validation.size(), provenance.settings().get("training.seed"));
  }

  /** Fits on {@code validation}, prints the figures there and on {@code test}, returns the fit. */
  static Calibration calibrate(
      TfModel model, DataSource validation, String source, DataSource test) {
    int classes = model.spec().numClasses();
    float[] p = probabilities(model, validation);
    Calibration c = Calibration.fit(p, labels(validation), classes, source);
    float[] t = probabilities(model, test);
    int[] testLabels = labels(test);
    float[] scaled = c.apply(t, classes);
    System.out.printf(
        "calibration: T = %.3f on %s; expected calibration error (%d bins) %.2f %% -> %.2f %%,"
            + " NLL %.4f -> %.4f%n",
        c.temperature(),
        c.source(),
        Calibration.BINS,
        100 * c.eceBefore(),
        100 * c.eceAfter(),
        c.nllBefore(),
        c.nllAfter());
    System.out.printf(
        "calibration on %s (%d examples): expected calibration error %.2f %% -> %.2f %%%n",
        test.name(),
        test.size(),
        100 * Calibration.expectedCalibrationError(t, testLabels, classes),
        100 * Calibration.expectedCalibrationError(scaled, testLabels, classes));
    reportUnsure(test, scaled, classes);
    return c;
  }

  /** How often the default rule says "unsure" on real digits, and how right it is otherwise. */
  private static void reportUnsure(DataSource test, float[] scaled, int classes) {
    VerdictRule rule = VerdictRule.DEFAULT;
    int unsure = 0;
    int answered = 0;
    int right = 0;
    int wrongCaught = 0;
    int wrong = 0;
    float[] image = new float[test.height() * test.width()];
    for (int i = 0; i < test.size(); i++) {
      test.copyImage(i, image, 0);
      float[] row = java.util.Arrays.copyOfRange(scaled, i * classes, (i + 1) * classes);
      Verdict v = rule.judge(image, row);
      int best = 0;
      for (int c = 1; c < classes; c++) {
        best = row[c] > row[best] ? c : best;
      }
      // The model's own answer, whatever the rule says of it (a blank picture has no top three).
      boolean correct = best == test.label(i);
      wrong += correct ? 0 : 1;
      if (v instanceof Verdict.Digit d) {
        answered++;
        right += d.digit() == test.label(i) ? 1 : 0;
      } else {
        unsure++;
        wrongCaught += correct ? 0 : 1;
      }
    }
    System.out.printf(
        "unsure below %.2f: %d of %d test digits (%.2f %%), %d of the model's %d mistakes among"
            + " them; accuracy on the rest %.2f %%%n",
        rule.minProbability(),
        unsure,
        test.size(),
        100.0 * unsure / test.size(),
        wrongCaught,
        wrong,
        answered == 0 ? 0 : 100.0 * right / answered);
  }

  static float[] probabilities(TfModel model, DataSource data) {
    int per = data.height() * data.width();
    float[] pixels = new float[data.size() * per];
    for (int i = 0; i < data.size(); i++) {
      data.copyImage(i, pixels, i * per);
    }
    return model.predict(pixels, data.size());
  }

  static int[] labels(DataSource data) {
    return IntStream.range(0, data.size()).map(data::label).toArray();
  }
}
