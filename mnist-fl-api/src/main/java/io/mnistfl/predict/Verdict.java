package io.mnistfl.predict;

import java.util.List;

/** What a classifier says about one picture: a digit, unsure (with why), or nothing drawn. */
public sealed interface Verdict {

  /**
   * The most probable classes, most probable first, with their (calibrated) probabilities; empty
   * for a blank picture.
   *
   * @return up to three guesses
   */
  List<Guess> top();

  /**
   * One class and its probability.
   *
   * @param digit the class
   * @param probability its probability, in [0, 1]
   */
  record Guess(int digit, double probability) {}

  /**
   * A confident answer.
   *
   * @param digit the predicted class
   * @param probability its probability
   * @param top the most probable classes, {@code digit} first
   */
  record Digit(int digit, double probability, List<Guess> top) implements Verdict {
    /**
     * Copies the guesses.
     *
     * @param digit the predicted class
     * @param probability its probability
     * @param top the most probable classes
     */
    public Digit {
      top = List.copyOf(top);
    }
  }

  /**
   * Not a digit the model can vouch for: a scribble, a letter, an ambiguous stroke.
   *
   * @param reason one line saying why
   * @param top the most probable classes all the same
   */
  record Unsure(String reason, List<Guess> top) implements Verdict {
    /**
     * Copies the guesses.
     *
     * @param reason one line saying why
     * @param top the most probable classes
     */
    public Unsure {
      java.util.Objects.requireNonNull(reason, "reason");
      top = List.copyOf(top);
    }
  }

  /** No ink at all: an empty canvas or a blank page. */
  record Blank() implements Verdict {
    @Override
    public List<Guess> top() {
      return List.of();
    }
  }
}
