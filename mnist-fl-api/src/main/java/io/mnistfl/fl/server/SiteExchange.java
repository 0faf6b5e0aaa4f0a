package io.mnistfl.fl.server;

import io.mnistfl.fl.SiteFailure;
import java.util.List;
import java.util.Map;

/**
 * One stage of a round on the wire: each site gets its request, at most a set number at once, and
 * the stage waits for answers no longer than its deadline. A {@link FitProtocol} runs as many
 * stages as it needs (one for plain training, four for secure aggregation) through the federation's
 * transport, whatever that transport is.
 */
public interface SiteExchange {

  /**
   * Sends every request of a stage and gathers the answers.
   *
   * @param stage names the stage in failure reasons, e.g. {@code fit}
   * @param requests each site's request, in the order answers are wanted
   * @return the answers and the sites that failed
   */
  Replies send(String stage, Map<String, byte[]> requests);

  /**
   * A stage's outcome.
   *
   * @param answers each answering site's bytes, in the order of the requests
   * @param failures the sites that failed, timed out or refused, with their reasons
   */
  record Replies(Map<String, byte[]> answers, List<SiteFailure> failures) {
    /**
     * Copies, keeping the order of the answers.
     *
     * @param answers each answering site's bytes
     * @param failures the sites that failed, with their reasons
     */
    public Replies {
      answers = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(answers));
      failures = List.copyOf(failures);
    }
  }
}
