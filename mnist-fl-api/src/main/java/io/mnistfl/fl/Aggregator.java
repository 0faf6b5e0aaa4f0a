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

  /**
   * The next global weights after a round in which no update arrived (none sampled, or all
   * failed): {@code global} unchanged, unless an aggregator must still act, as {@link DpFedAvg}
   * adds its noise to every round.
   */
  default Weights withoutUpdates(Weights global) {
    return global;
  }

  /**
   * What this aggregator carries into the next round (a server optimizer's moments), copied,
   * so that a checkpoint can keep it; empty for one that keeps nothing, or before its first
   * round.
   */
  default List<double[]> state() {
    return List.of();
  }

  /**
   * Takes up a {@link #state()} that an aggregator of the same kind and settings saved; an
   * empty one starts afresh. {@link Federation} calls it before a federation's first round.
   */
  default void restore(List<double[]> state) {
    if (!state.isEmpty()) {
      throw new IllegalArgumentException(this + " keeps no state, but was given a state of "
          + state.size() + (state.size() == 1 ? " array" : " arrays"));
    }
  }

  /**
   * A parsed name, each with the defaults of its paper / of Flower: {@code fedavg}, {@code
   * fedavgm}, {@code fedadam}, {@code fedyogi}, {@code fedadagrad}, and the robust {@code
   * fedmedian}, {@code fedtrimmedavg[:BETA]} (β 0.2) and {@code krum[:F[:M]]} (withstanding F = 1
   * bad client, averaging the M = 1 best).
   */
  static Aggregator named(String text) {
    String[] parts = text.split(":", -1);
    String name = parts[0];
    int parameters = switch (name) {
      case "fedtrimmedavg" -> 1;
      case "krum" -> 2;
      case "fedavg", "fedavgm", "fedadam", "fedyogi", "fedadagrad", "fedmedian" -> 0;
      default -> throw new IllegalArgumentException("unknown aggregator '" + text
          + "', expected fedavg, fedavgm, fedadam, fedyogi, fedadagrad, fedmedian,"
          + " fedtrimmedavg[:BETA] or krum[:F[:M]]");
    };
    if (parts.length - 1 > parameters) {
      throw new IllegalArgumentException("aggregator '" + text + "': " + name + " takes "
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
        default -> new Krum(parts.length > 1 ? Integer.parseInt(parts[1]) : 1,
            parts.length > 2 ? Integer.parseInt(parts[2]) : 1);
      };
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("aggregator '" + text + "': not a number after ':'");
    }
  }
}
