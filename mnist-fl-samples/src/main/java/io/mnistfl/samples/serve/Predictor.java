package io.mnistfl.samples.serve;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.mnistfl.data.DigitImages;
import io.mnistfl.predict.Calibration;
import io.mnistfl.predict.Verdict;
import io.mnistfl.predict.VerdictRule;
import io.mnistfl.tf.TfModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * The page's model: pictures in, calibrated verdicts out. One TensorFlow session serves every
 * drawer in turn; a bounded number may wait for it, and the rest are told to try again.
 */
final class Predictor implements AutoCloseable {
  /** Requests that may wait for the model at once; more get 429. */
  static final int MAX_WAITING = 8;

  private final TfModel model;
  private final Path dir;
  private final Optional<Calibration> calibration;
  private final VerdictRule rule;
  private final long maxPixels;
  private final Semaphore waiting = new Semaphore(MAX_WAITING);

  Predictor(
      TfModel model,
      Path dir,
      Optional<Calibration> calibration,
      VerdictRule rule,
      long maxPixels) {
    this.model = model;
    this.dir = dir;
    this.calibration = calibration;
    this.rule = rule;
    this.maxPixels = maxPixels;
  }

  /**
   * What the page shows of one prediction.
   *
   * @param verdict {@code digit}, {@code unsure} or {@code blank}
   * @param digit the digit, for a confident answer
   * @param probability its probability
   * @param reason why the model is unsure
   * @param top the three most probable digits
   * @param calibrated whether the probabilities are temperature-scaled
   * @param input the 28×28 picture the model saw, row by row, 0 (background) to 255 (ink)
   * @param millis how long the preprocessing and the model took
   */
  @JsonInclude(JsonInclude.Include.NON_ABSENT)
  record Answer(
      String verdict,
      Optional<Integer> digit,
      Optional<Double> probability,
      Optional<String> reason,
      List<Verdict.Guess> top,
      boolean calibrated,
      int[] input,
      double millis) {}

  /** The model's description for {@code /api/model}. */
  @JsonInclude(JsonInclude.Include.NON_ABSENT)
  record Info(
      String name,
      String path,
      Optional<Calibration> calibration,
      VerdictRule rule,
      long maxPixels) {}

  Info info() {
    return new Info(model.spec().name(), dir.toString(), calibration, rule, maxPixels);
  }

  /**
   * Reads, preprocesses and classifies one picture.
   *
   * @throws Refusal.Thrown 422 for a picture that cannot be read or is too large, 429 when too many
   *     are waiting
   */
  Answer predict(byte[] picture, String name) throws Refusal.Thrown, InterruptedException {
    long start = System.nanoTime();
    float[] pixels;
    try {
      pixels = DigitImages.read(picture, name, maxPixels);
    } catch (IOException e) {
      throw Refusal.of(422, e.getMessage());
    }
    if (!waiting.tryAcquire(5, TimeUnit.SECONDS)) {
      throw Refusal.of(
          429, "busy: " + MAX_WAITING + " pictures are waiting for the model; try again");
    }
    float[] probabilities;
    try {
      synchronized (model) {
        probabilities = model.predict(pixels, 1);
      }
    } finally {
      waiting.release();
    }
    int classes = model.spec().numClasses();
    float[] calibrated =
        calibration.map(c -> c.apply(probabilities, classes)).orElse(probabilities);
    Verdict v = rule.judge(pixels, calibrated);
    int[] input = new int[pixels.length];
    for (int i = 0; i < pixels.length; i++) {
      input[i] = Math.round(pixels[i] * 255);
    }
    double millis = (System.nanoTime() - start) / 1e6;
    boolean scaled = calibration.isPresent();
    if (v instanceof Verdict.Digit d) {
      return new Answer(
          "digit",
          Optional.of(d.digit()),
          Optional.of(d.probability()),
          Optional.empty(),
          d.top(),
          scaled,
          input,
          millis);
    } else if (v instanceof Verdict.Unsure u) {
      return new Answer(
          "unsure",
          Optional.empty(),
          Optional.empty(),
          Optional.of(u.reason()),
          u.top(),
          scaled,
          input,
          millis);
    }
    return new Answer(
        "blank",
        Optional.empty(),
        Optional.empty(),
        Optional.of("nothing drawn"),
        List.of(),
        scaled,
        input,
        millis);
  }

  @Override
  public void close() {
    model.close();
  }
}
