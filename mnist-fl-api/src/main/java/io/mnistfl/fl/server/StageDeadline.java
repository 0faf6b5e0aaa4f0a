package io.mnistfl.fl.server;

import java.time.Duration;

/**
 * How long a stage of a round waits for its sites: never longer than {@code limit} from the stage's
 * start, and once half of its calls have ended, at most {@code stragglerFactor} times as long as
 * that half took, but at least {@code stragglerFloor}. A round whose sites answer in seconds then
 * waits for a silent one for tens of seconds, not for the whole limit.
 *
 * @param limit the longest any stage waits
 * @param stragglerFactor the rest wait at most this many times the time half the sites took; 0
 *     turns the rule off
 * @param stragglerFloor the shortest wait the rule allows
 */
record StageDeadline(Duration limit, double stragglerFactor, Duration stragglerFloor) {

  /** When the stage that started {@code halfNanos} before half its calls ended must end. */
  long stragglerWait(long halfNanos) {
    if (stragglerFactor <= 0) {
      return limit.toNanos();
    }
    return Math.max(
        stragglerFloor.toNanos(),
        (long) Math.min(Long.MAX_VALUE / 2.0, stragglerFactor * halfNanos));
  }
}
