package io.mnistfl.fl;

import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.Weights;

/** Measures global weights on the server's held-out test set (the backend supplies it). */
@FunctionalInterface
public interface GlobalEvaluator {
  Metrics evaluate(Weights weights);
}
