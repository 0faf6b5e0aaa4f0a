package io.mnistfl.fl.site;

import io.mnistfl.fl.RoundConfig;
import io.mnistfl.internal.Require;

/**
 * What a site will do for a server, whoever that server is: a request beyond these is refused
 * before any training, so that even a false or faulty server cannot make a site run for hours.
 *
 * @param maxLocalEpochs the most local epochs per round
 * @param maxExamplesPerRound the most training examples per round, epochs × local examples
 * @param maxBatchSize the largest batch, which bounds the memory of a step
 */
public record SiteLimits(int maxLocalEpochs, long maxExamplesPerRound, int maxBatchSize) {

  /**
   * Checks that every limit allows something.
   *
   * @param maxLocalEpochs the most local epochs per round, at least 1
   * @param maxExamplesPerRound the most training examples per round, {@code > 0}
   * @param maxBatchSize the largest batch, at least 1
   */
  public SiteLimits {
    Require.atLeastOne("maxLocalEpochs", maxLocalEpochs);
    Require.positive("maxExamplesPerRound", maxExamplesPerRound);
    Require.atLeastOne("maxBatchSize", maxBatchSize);
  }

  /**
   * 20 local epochs, 2 million examples a round (about 1 minute here), batches of 1024.
   *
   * @return the default limits
   */
  public static SiteLimits defaults() {
    return new SiteLimits(20, 2_000_000, 1024);
  }

  /**
   * Why {@code config} exceeds these limits for a site of {@code examples}, or empty.
   *
   * @param config what the server asks
   * @param examples the site's local training examples
   * @return the refusal, or an empty string when the site may do it
   */
  public String violation(RoundConfig config, int examples) {
    int epochs = config.training().epochs();
    if (epochs > maxLocalEpochs) {
      return "asked for " + epochs + " local epochs, the site's limit is " + maxLocalEpochs;
    }
    if ((long) epochs * examples > maxExamplesPerRound) {
      return "asked for "
          + epochs
          + " epochs of "
          + examples
          + " examples, above the site's"
          + " limit of "
          + maxExamplesPerRound
          + " examples a round";
    }
    if (config.training().batchSize() > maxBatchSize) {
      return "asked for batches of "
          + config.training().batchSize()
          + ", the site's limit is "
          + maxBatchSize;
    }
    return "";
  }
}
