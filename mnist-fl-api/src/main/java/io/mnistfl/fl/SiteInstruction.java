package io.mnistfl.fl;

import java.util.Objects;

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
}
