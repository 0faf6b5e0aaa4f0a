package io.mnistfl.samples;

import io.mnistfl.data.DigitImages;
import io.mnistfl.predict.Calibration;
import io.mnistfl.predict.Verdict;
import io.mnistfl.predict.VerdictRule;
import io.mnistfl.tf.TfModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * Predicts the digit in each image file; a file that cannot be read gets an error line and the
 * others are still predicted.
 */
@Command(
    name = "predict",
    mixinStandardHelpOptions = true,
    description =
        "Print `FILE DIGIT PROBABILITY` for each image (PNG, JPEG, BMP, GIF; any size,"
            + " either polarity), the probability calibrated when the model has a"
            + " calibration.json; `FILE DIGIT PROBABILITY unsure: WHY` when the model is unsure or"
            + " the picture is no digit, `FILE - - blank` for a blank one. Unreadable files get an"
            + " error line on stderr; exit status 1 if any failed.")
final class PredictCommand implements Callable<Integer> {
  @Mixin SavedModelOption model;

  @Parameters(paramLabel = "FILE", arity = "1..*", description = "Image files.")
  List<Path> files;

  @Mixin ThreadOptions threads;

  /** How one picture file becomes 28×28 pixels; tests inject failures through it. */
  interface PictureReader {
    float[] read(Path file) throws IOException;
  }

  private final PictureReader reader;

  PredictCommand() {
    this(DigitImages::load);
  }

  PredictCommand(PictureReader reader) {
    this.reader = reader;
  }

  @Override
  public Integer call() throws Exception {
    // The model first: a bad --model is one fatal error, not an error line per image.
    try (TfModel loaded = model.load(threads)) {
      List<Path> readable = new ArrayList<>();
      List<float[]> images = new ArrayList<>();
      List<String> errors = new ArrayList<>();
      for (Path file : files) {
        try {
          images.add(reader.read(file));
          readable.add(file);
        } catch (Exception | Error e) {
          // Even an Error stays with its file: the others are still predicted.
          errors.add(
              file
                  + " ERROR "
                  + (e instanceof IOException && e.getMessage() != null
                      ? e.getMessage()
                      : e.toString()));
        }
      }
      errors.forEach(System.err::println);
      if (!images.isEmpty()) {
        printPredictions(loaded, Calibration.read(model.dir), readable, images);
      }
      return errors.isEmpty() ? 0 : 1;
    }
  }

  private static void printPredictions(
      TfModel loaded, Optional<Calibration> calibration, List<Path> files, List<float[]> images) {
    int size = DigitImages.SIZE * DigitImages.SIZE;
    float[] pixels = new float[images.size() * size];
    for (int i = 0; i < images.size(); i++) {
      System.arraycopy(images.get(i), 0, pixels, i * size, size);
    }
    int classes = loaded.spec().numClasses();
    float[] raw = loaded.predict(pixels, images.size());
    float[] probs = calibration.map(c -> c.apply(raw, classes)).orElse(raw);
    for (int i = 0; i < images.size(); i++) {
      float[] row = java.util.Arrays.copyOfRange(probs, i * classes, (i + 1) * classes);
      Verdict v = VerdictRule.DEFAULT.judge(images.get(i), row);
      if (v instanceof Verdict.Blank) {
        System.out.printf("%s - - blank%n", files.get(i));
      } else if (v instanceof Verdict.Unsure u) {
        System.out.printf(
            "%s %d %.4f %s%n",
            files.get(i), u.top().get(0).digit(), u.top().get(0).probability(), u.reason());
      } else {
        Verdict.Digit d = (Verdict.Digit) v;
        System.out.printf("%s %d %.4f%n", files.get(i), d.digit(), d.probability());
      }
    }
  }
}
