package io.mnistfl.fl;

import io.mnistfl.metrics.ConfusionMatrix;

/**
 * A client's evaluation of the global weights on its own held-out data. Carrying the confusion
 * matrix (not just scores) lets the server aggregate macro precision/recall/F1 exactly.
 *
 * @param clientId who evaluated
 * @param numExamples examples evaluated
 * @param loss mean loss
 * @param confusion confusion matrix over those examples
 */
public record ClientEvaluation(
    String clientId, int numExamples, double loss, ConfusionMatrix confusion) {}
