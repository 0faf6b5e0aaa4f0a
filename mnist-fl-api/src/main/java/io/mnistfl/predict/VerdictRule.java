package io.mnistfl.predict;

import java.util.ArrayList;
import java.util.List;

/**
 * When a prediction is reported as a digit and when as "unsure / not a digit": a preprocessed
 * picture with no ink is {@link Verdict.Blank}; one with more ink than MNIST's digits ever have (a
 * scribble, a filled blob) or whose calibrated top probability is below {@code minProbability} is
 * {@link Verdict.Unsure}; anything else is a {@link Verdict.Digit}.
 *
 * @param minProbability the calibrated top probability below which the answer is "unsure"
 * @param maxInk the largest share of the 28×28 pixels at or above half brightness that still counts
 *     as a digit
 */
public record VerdictRule(double minProbability, double maxInk) {

  /**
   * The documented defaults: unsure below a calibrated 0.80, or with more than 42 % of the pixels
   * inked (of MNIST's 70,000 digits the most inked has 39.8 %, and 99.9 % have under 30.1 %).
   */
  public static final VerdictRule DEFAULT = new VerdictRule(0.80, 0.42);

  /** Pixels at or above this brightness are ink. */
  static final float INK = 0.5f;

  /**
   * Checks the bounds.
   *
   * @param minProbability in [0, 1]
   * @param maxInk in (0, 1]
   */
  public VerdictRule {
    if (!(minProbability >= 0 && minProbability <= 1)) {
      throw new IllegalArgumentException(
          "verdict rule: minProbability must be in [0, 1], was " + minProbability);
    }
    if (!(maxInk > 0 && maxInk <= 1)) {
      throw new IllegalArgumentException("verdict rule: maxInk must be in (0, 1], was " + maxInk);
    }
  }

  /**
   * The verdict on one picture.
   *
   * @param pixels the preprocessed picture (values in [0, 1], ink bright)
   * @param probabilities the model's (calibrated) probabilities for it, one per class
   * @return blank, unsure or a digit, with the top three guesses
   */
  public Verdict judge(float[] pixels, float[] probabilities) {
    double ink = inkShare(pixels);
    if (ink == 0) {
      return new Verdict.Blank();
    }
    List<Verdict.Guess> top = top(probabilities, 3);
    if (ink > maxInk) {
      return new Verdict.Unsure(
          String.format(
              "not a digit: %.0f %% of the picture is ink, more than any digit's %.0f %%",
              100 * ink, 100 * maxInk),
          top);
    }
    Verdict.Guess best = top.get(0);
    if (best.probability() < minProbability) {
      return new Verdict.Unsure(
          String.format(
              "unsure: the most probable digit, %d, has probability %.2f, below %.2f",
              best.digit(), best.probability(), minProbability),
          top);
    }
    return new Verdict.Digit(best.digit(), best.probability(), top);
  }

  /**
   * The share of pixels at or above half brightness.
   *
   * @param pixels a preprocessed picture
   * @return the share, in [0, 1]
   */
  public static double inkShare(float[] pixels) {
    int inked = 0;
    for (float v : pixels) {
      inked += v >= INK ? 1 : 0;
    }
    return pixels.length == 0 ? 0 : (double) inked / pixels.length;
  }

  /** The {@code k} most probable classes, most probable first. */
  static List<Verdict.Guess> top(float[] probabilities, int k) {
    List<Verdict.Guess> all = new ArrayList<>();
    for (int c = 0; c < probabilities.length; c++) {
      all.add(new Verdict.Guess(c, probabilities[c]));
    }
    all.sort((a, b) -> Double.compare(b.probability(), a.probability()));
    return List.copyOf(all.subList(0, Math.min(k, all.size())));
  }
}
