package io.mnistfl.fl;

import java.util.Objects;

/**
 * A site left out of a stage of a round, and why: it failed, timed out, refused, or sent something
 * malformed or out of bounds.
 *
 * @param siteId the site
 * @param reason one line naming the problem
 */
public record SiteFailure(String siteId, String reason) {

  /**
   * Checks for presence.
   *
   * @param siteId the site
   * @param reason one line naming the problem
   */
  public SiteFailure {
    Objects.requireNonNull(siteId, "siteId");
    Objects.requireNonNull(reason, "reason");
  }

  /** {@code siteId: reason}. */
  @Override
  public String toString() {
    return siteId + ": " + reason;
  }
}
