package io.mnistfl.fl;

import java.util.List;
import java.util.Map;

/**
 * How a round's training travels between server and sites: {@link #plain()} sends each site its
 * instruction and gathers each update; secure aggregation runs four stages and yields only their
 * sum. Either way it runs over the federation's {@link SiteExchange}, so it works with every
 * transport.
 */
public interface FitProtocol {

  /**
   * Runs the round's training stages.
   *
   * @throws RoundAbandonedException when no aggregate can come out of the round
   */
  FitResults run(RoundContext round, List<SiteInstruction> instructions, SiteExchange exchange);

  /** Whether the protocol yields only a {@link FitResults.Sum}, so the strategy must take one. */
  default boolean yieldsSums() {
    return false;
  }

  /** Parameters that determine the result, by name, for provenance. */
  default Map<String, String> parameters() {
    return Map.of();
  }

  /** One stage: each site's update, decoded and checked. */
  static FitProtocol plain() {
    return new PlainFit();
  }
}
