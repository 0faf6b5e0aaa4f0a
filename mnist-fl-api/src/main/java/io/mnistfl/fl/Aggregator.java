package io.mnistfl.fl;

import io.mnistfl.model.Weights;
import java.util.List;

/**
 * Turns a round's client updates into the next global weights. Implementations may keep state
 * across rounds (server momentum, moments); use one instance per federation.
 */
public interface Aggregator {

  /**
   * The next global weights.
   *
   * @param global the weights the clients started from
   * @param updates at least one update, each with the same layout as {@code global}
   */
  Weights aggregate(Weights global, List<ClientUpdate> updates);

  /** A parsed name: {@code fedavg}, {@code fedavgm}, {@code fedadam}, {@code fedyogi}, {@code
   * fedadagrad}, each with the defaults of its paper / of Flower. */
  static Aggregator named(String name) {
    return switch (name) {
      case "fedavg" -> new FedAvg();
      case "fedavgm" -> new FedAvgM(1.0, 0.9);
      case "fedadam" -> new FedAdam(0.01, 0.9, 0.99, 1e-3);
      case "fedyogi" -> new FedYogi(0.01, 0.9, 0.99, 1e-3);
      case "fedadagrad" -> new FedAdagrad(0.1, 0.0, 1e-3);
      default -> throw new IllegalArgumentException("unknown aggregator '" + name
          + "', expected fedavg, fedavgm, fedadam, fedyogi or fedadagrad");
    };
  }
}
