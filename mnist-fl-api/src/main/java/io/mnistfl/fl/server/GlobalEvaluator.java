package io.mnistfl.fl.server;

import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.Weights;

/** Measures global weights on the server's own test set (the backend supplies it). */
@FunctionalInterface
public interface GlobalEvaluator {
  /**
   * The metrics of {@code weights}.
   *
   * @param weights the global weights to score
   * @return their metrics
   */
  Metrics evaluate(Weights weights);
}
