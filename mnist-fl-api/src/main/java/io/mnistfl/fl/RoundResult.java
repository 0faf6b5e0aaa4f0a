package io.mnistfl.fl;

import io.mnistfl.metrics.Metrics;
import java.util.List;
import java.util.Optional;

/**
 * One round's outcome.
 *
 * @param round 1-based round
 * @param sampled sites asked to train
 * @param succeeded sites whose update went into the aggregate
 * @param failures the sites left out of any stage, with their reasons
 * @param seconds wall time of the round, evaluation included
 * @param testSeconds of which the server's evaluation on its own test set took this much
 * @param clientTrainLoss example-weighted mean of the sites' local training losses; NaN when no
 *     update arrived or only their sum did
 * @param test the global model on the server's test set, if it has one
 * @param federated the sites' own held-out data, aggregated, when federated evaluation is on
 * @param abandoned why the round produced no aggregate (the global weights stayed), if it did not
 */
public record RoundResult(
    int round,
    int sampled,
    int succeeded,
    List<SiteFailure> failures,
    double seconds,
    double testSeconds,
    double clientTrainLoss,
    Optional<Metrics> test,
    Optional<Metrics> federated,
    Optional<String> abandoned) {

  /**
   * Copies the failures.
   *
   * @param round 1-based round
   * @param sampled sites asked to train
   * @param succeeded sites whose update went into the aggregate
   * @param failures the sites left out, with their reasons
   * @param seconds wall time of the round
   * @param testSeconds of which the server's test evaluation took this much
   * @param clientTrainLoss mean of the sites' local training losses, or NaN
   * @param test the global model's metrics on the server's test set, if any
   * @param federated the sites' aggregated metrics, if any
   * @param abandoned why the round produced no aggregate, if it did not
   */
  public RoundResult {
    failures = List.copyOf(failures);
  }

  /**
   * The accuracy a target is measured by: the server's test set's, else the sites' own.
   *
   * @return the accuracy, or empty when the round was not evaluated
   */
  public Optional<Double> accuracy() {
    return test.or(() -> federated).map(Metrics::accuracy);
  }

  /**
   * The per-round console line.
   *
   * @return the line
   */
  public String format() {
    StringBuilder line =
        new StringBuilder(
            String.format("round %d - %d/%d sites - %.1fs", round, succeeded, sampled, seconds));
    if (test.isPresent()) {
      line.append(String.format(" (test %.1fs)", testSeconds));
    }
    test.ifPresent(
        t ->
            line.append(
                String.format(
                    " - loss %.4f - accuracy %.4f - precision %.4f" + " - recall %.4f - f1 %.4f",
                    t.loss(),
                    t.accuracy(),
                    t.macro().precision(),
                    t.macro().recall(),
                    t.macro().f1())));
    federated.ifPresent(
        f -> line.append(String.format(" - federated accuracy %.4f", f.accuracy())));
    abandoned.ifPresent(reason -> line.append(" - abandoned: ").append(reason));
    if (!failures.isEmpty()) {
      line.append(" - failed: ").append(failures);
    }
    return line.toString();
  }
}
