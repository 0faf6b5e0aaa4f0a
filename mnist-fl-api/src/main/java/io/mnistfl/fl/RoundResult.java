package io.mnistfl.fl;

import io.mnistfl.metrics.Metrics;
import java.util.List;
import java.util.Optional;

/**
 * One round's outcome.
 *
 * @param round 1-based round
 * @param sampled clients asked to train
 * @param succeeded clients whose update was used
 * @param failures one line per client that failed: id and reason
 * @param seconds wall time of the round, evaluation included
 * @param clientTrainLoss example-weighted mean of the clients' local training losses; NaN when
 *     no update arrived
 * @param test global model on the server's test set
 * @param federated clients' own held-out data, aggregated, when federated evaluation is on
 */
public record RoundResult(int round, int sampled, int succeeded, List<String> failures,
    double seconds, double clientTrainLoss, Metrics test, Optional<Metrics> federated) {

  public RoundResult {
    failures = List.copyOf(failures);
  }

  /** The per-round console line. */
  public String format() {
    return String.format("round %d - %d/%d clients - %.1fs - loss %.4f - accuracy %.4f"
            + " - precision %.4f - recall %.4f - f1 %.4f%s", round, succeeded, sampled, seconds,
        test.loss(), test.accuracy(), test.macro().precision(), test.macro().recall(),
        test.macro().f1(), failures.isEmpty() ? "" : " - failed: " + failures);
  }
}
