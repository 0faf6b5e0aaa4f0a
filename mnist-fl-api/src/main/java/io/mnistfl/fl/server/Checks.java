package io.mnistfl.fl.server;

import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.model.Weights;

/**
 * The server's checks of every decoded answer against what it knows: who was asked, the global
 * weights' layout, the model's classes and the caps it set. A failed check leaves that one site out
 * of the stage, with the reason.
 */
final class Checks {
  private Checks() {}

  /** Fails unless {@code u} is a finite update of the right layout from {@code siteId}. */
  static void update(RoundContext round, String siteId, ClientUpdate u) {
    if (!u.clientId().equals(siteId)) {
      throw new IllegalArgumentException("answered as " + u.clientId() + ", not " + siteId);
    }
    examples(u.numExamples(), round.maxExamplesPerSite());
    round.global().requireSameLayout(u.weights(), "update");
    for (Weights.NamedArray a : u.weights().arrays()) {
      for (float v : a.values()) {
        if (!Float.isFinite(v)) {
          throw new IllegalArgumentException("update array " + a.name() + " holds " + v);
        }
      }
    }
  }

  /**
   * Fails unless {@code e} is {@code siteId}'s evaluation over {@code numClasses} classes, with
   * non-negative counts that sum to its example count, within the cap, and a finite loss.
   */
  static void evaluation(String siteId, ClientEvaluation e, int numClasses, int maxExamples) {
    if (!e.clientId().equals(siteId)) {
      throw new IllegalArgumentException("answered as " + e.clientId() + ", not " + siteId);
    }
    ConfusionMatrix m = e.confusion();
    if (m.numClasses() != numClasses) {
      throw new IllegalArgumentException(
          "a "
              + m.numClasses()
              + "-class confusion matrix, the"
              + " model has "
              + numClasses
              + " classes");
    }
    // A site without held-out data answers 0 examples: skipped, not failed.
    if (e.numExamples() < 0 || e.numExamples() > maxExamples) {
      throw new IllegalArgumentException(
          "reports " + e.numExamples() + " examples, outside 0.." + maxExamples);
    }
    long sum = 0;
    for (int a = 0; a < numClasses; a++) {
      for (int p = 0; p < numClasses; p++) {
        long c = m.count(a, p);
        if (c < 0) {
          throw new IllegalArgumentException("negative count " + c + " in its confusion matrix");
        }
        sum += c;
      }
    }
    if (sum != e.numExamples()) {
      throw new IllegalArgumentException(
          "its confusion matrix counts " + sum + " examples, it reports " + e.numExamples());
    }
    if (e.numExamples() > 0 && !(Double.isFinite(e.loss()) && e.loss() >= 0)) {
      throw new IllegalArgumentException("reports loss " + e.loss());
    }
  }

  private static void examples(int n, int max) {
    if (n <= 0 || n > max) {
      throw new IllegalArgumentException("reports " + n + " examples, outside 1.." + max);
    }
  }

  /** One line for a failure: the message, or the exception's name where it has none. */
  static String describe(Throwable e) {
    return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
  }
}
