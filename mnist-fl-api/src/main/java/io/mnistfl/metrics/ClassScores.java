package io.mnistfl.metrics;

/**
 * Precision, recall and F1 of one class (or an average of classes).
 *
 * @param precision true positives / predicted positives (0 when nothing was predicted)
 * @param recall true positives / actual positives (0 when the class is absent)
 * @param f1 harmonic mean of precision and recall (0 when both are 0)
 * @param support number of actual examples of the class (for averages: all counted examples)
 */
public record ClassScores(double precision, double recall, double f1, long support) {}
