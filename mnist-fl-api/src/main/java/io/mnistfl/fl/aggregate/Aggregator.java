package io.mnistfl.fl.aggregate;

import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.Stateful;
import io.mnistfl.model.Weights;
import java.util.List;

/**
 * The pure aggregation inside a {@link io.mnistfl.fl.server.StandardStrategy}: a round's updates
 * in, the next global weights out. Implementations may keep state across rounds (server momentum,
 * moments); use one instance per federation. {@link WeightMath} has the element-wise arithmetic a
 * custom aggregator needs.
 */
public interface Aggregator extends Stateful {

  /**
   * The next global weights.
   *
   * @param global the weights the clients started from
   * @param updates at least one update, each with the same layout as {@code global}
   * @return the new global weights
   */
  Weights aggregate(Weights global, List<ClientUpdate> updates);

  /**
   * Whether {@link #aggregateMean} works: true for aggregators that need only the mean update
   * (FedAvg and the server optimizers), false for those that need each site's update (the robust
   * ones).
   *
   * @return whether the mean update is enough
   */
  default boolean aggregatesMeans() {
    return false;
  }

  /**
   * The next global weights from the mean of the sites' deltas (new weights − global), all the
   * server sees under secure aggregation or differential privacy.
   *
   * @param global the weights the clients started from
   * @param meanDelta the mean of the sites' deltas, shaped like {@code global}
   * @return the new global weights
   * @throws UnsupportedOperationException unless {@link #aggregatesMeans()}
   */
  default Weights aggregateMean(Weights global, Weights meanDelta) {
    throw new UnsupportedOperationException(
        this
            + " needs each site's update, not their mean:"
            + " it cannot run under secure aggregation or DP-FedAvg");
  }

  /**
   * A parsed name, each with the defaults of its paper / of Flower: {@code fedavg}, {@code
   * fedavgm}, {@code fedadam}, {@code fedyogi}, {@code fedadagrad}, and the robust {@code
   * fedmedian}, {@code fedtrimmedavg[:BETA]} (β 0.2) and {@code krum[:F[:M]]} (withstanding F = 1
   * bad client, averaging the M = 1 best).
   *
   * @param text the name, with any parameters after colons
   * @return a new aggregator
   * @throws IllegalArgumentException when the name is unknown or a parameter is malformed
   */
  static Aggregator named(String text) {
    String[] parts = text.split(":", -1);
    String name = parts[0];
    int parameters =
        switch (name) {
          case "fedtrimmedavg" -> 1;
          case "krum" -> 2;
          case "fedavg", "fedavgm", "fedadam", "fedyogi", "fedadagrad", "fedmedian" -> 0;
          default ->
              throw new IllegalArgumentException(
                  "unknown aggregator '"
                      + text
                      + "', expected fedavg, fedavgm, fedadam, fedyogi, fedadagrad, fedmedian,"
                      + " fedtrimmedavg[:BETA] or krum[:F[:M]]");
        };
    if (parts.length - 1 > parameters) {
      throw new IllegalArgumentException(
          "aggregator '"
              + text
              + "': "
              + name
              + " takes "
              + switch (parameters) {
                case 0 -> "no parameter";
                case 1 -> "at most one parameter";
                default -> "at most " + parameters + " parameters";
              });
    }
    try {
      return switch (name) {
        case "fedavg" -> new FedAvg();
        case "fedavgm" -> new FedAvgM(1.0, 0.9);
        case "fedadam" -> new FedAdam(0.01, 0.9, 0.99, 1e-3);
        case "fedyogi" -> new FedYogi(0.01, 0.9, 0.99, 1e-3);
        case "fedadagrad" -> new FedAdagrad(0.1, 0.0, 1e-3);
        case "fedmedian" -> new FedMedian();
        case "fedtrimmedavg" ->
            new FedTrimmedAvg(parts.length > 1 ? Double.parseDouble(parts[1]) : 0.2);
        default ->
            new Krum(
                parts.length > 1 ? Integer.parseInt(parts[1]) : 1,
                parts.length > 2 ? Integer.parseInt(parts[2]) : 1);
      };
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("aggregator '" + text + "': not a number after ':'");
    }
  }
}
