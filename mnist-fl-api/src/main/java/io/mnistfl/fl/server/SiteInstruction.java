package io.mnistfl.fl.server;

import io.mnistfl.fl.RoundConfig;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * One site's part in a round, as a {@link Strategy} configures it.
 *
 * @param siteId the site
 * @param config what it is asked to do
 */
public record SiteInstruction(String siteId, RoundConfig config) {

  /**
   * Checks for presence.
   *
   * @param siteId the site
   * @param config what it is asked to do
   */
  public SiteInstruction {
    Objects.requireNonNull(siteId, "siteId");
    Objects.requireNonNull(config, "config");
  }

  /**
   * Each site's request, in the instructions' order; sites with equal configs share one encoding,
   * since a strategy usually gives every site the same.
   */
  static Map<String, byte[]> encodeEach(
      List<SiteInstruction> instructions, Function<RoundConfig, byte[]> encode) {
    Map<RoundConfig, byte[]> encoded = new HashMap<>();
    Map<String, byte[]> requests = new LinkedHashMap<>();
    for (SiteInstruction i : instructions) {
      requests.put(i.siteId(), encoded.computeIfAbsent(i.config(), encode));
    }
    return requests;
  }
}
