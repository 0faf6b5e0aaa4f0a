package io.mnistfl.fl.server;

import io.mnistfl.fl.SiteFailure;
import java.util.List;

/**
 * A round that cannot produce an aggregate, e.g. secure aggregation with too few surviving sites:
 * the round loop keeps the global weights unchanged and records the reason on the round.
 */
public final class RoundAbandonedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The sites that failed on the way. */
  private final transient List<SiteFailure> failures;

  /**
   * A round abandoned for {@code reason}, after {@code failures}.
   *
   * @param reason why no aggregate came out of the round
   * @param failures the sites that failed on the way
   */
  public RoundAbandonedException(String reason, List<SiteFailure> failures) {
    super(reason);
    this.failures = List.copyOf(failures);
  }

  /**
   * The sites that failed on the way.
   *
   * @return the failed sites, with their reasons
   */
  public List<SiteFailure> failures() {
    return failures;
  }
}
