package io.mnistfl.samples;

import io.mnistfl.data.DigitImages;
import io.mnistfl.tf.TfModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
            + " either polarity). Unreadable files get an error line on stderr; exit status 1 if any"
            + " failed.")
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
        printPredictions(loaded, readable, images);
      }
      return errors.isEmpty() ? 0 : 1;
    }
  }

  private static void printPredictions(TfModel loaded, List<Path> files, List<float[]> images) {
    int size = DigitImages.SIZE * DigitImages.SIZE;
    float[] pixels = new float[images.size() * size];
    for (int i = 0; i < images.size(); i++) {
      System.arraycopy(images.get(i), 0, pixels, i * size, size);
    }
    int classes = loaded.spec().numClasses();
    float[] probs = loaded.predict(pixels, images.size());
    for (int i = 0; i < images.size(); i++) {
      int best = 0;
      for (int c = 1; c < classes; c++) {
        if (probs[i * classes + c] > probs[i * classes + best]) {
          best = c;
        }
      }
      System.out.printf("%s %d %.4f%n", files.get(i), best, probs[i * classes + best]);
    }
  }
}
