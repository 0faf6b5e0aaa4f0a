package io.mnistfl.fl.server;

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
   * @param round the round being run
   * @param instructions each sampled site's part in it
   * @param exchange sends each stage's requests to the sites
   * @return the updates, or their sum, and the sites left out
   * @throws RoundAbandonedException when no aggregate can come out of the round
   */
  FitResults run(RoundContext round, List<SiteInstruction> instructions, SiteExchange exchange);

  /**
   * Whether the protocol yields only a {@link FitResults.Sum}, so the strategy must take one.
   *
   * @return whether the strategy gets only a sum
   */
  default boolean yieldsSums() {
    return false;
  }

  /**
   * Parameters that determine the result, by name, for provenance.
   *
   * @return the parameters; empty by default
   */
  default Map<String, String> parameters() {
    return Map.of();
  }

  /**
   * One stage: each site's update, decoded and checked.
   *
   * @return the plain protocol
   */
  static FitProtocol plain() {
    return new PlainFit();
  }
}
