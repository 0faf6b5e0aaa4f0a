package io.mnistfl.fl;

import io.mnistfl.internal.Require;
import io.mnistfl.train.LocalTraining;
import java.util.Objects;
import java.util.OptionalDouble;

/**
 * What the server asks of one site in a round: the site trains as {@code training} says and sends
 * its update back as {@code updateEncoding} says.
 *
 * @param round 1-based round number
 * @param training local training: epochs, batch size, learning rate, FedProx μ and the seed of the
 *     site's shuffling (and of any random rounding of its update)
 * @param updateEncoding how the site sends its update back
 * @param clipNorm where present, the site clips its update (new weights − global) to this L2 norm
 *     before sending it, and the server weighs every site the same: DP-FedAvg under secure
 *     aggregation, where the server cannot clip what it cannot see
 */
public record RoundConfig(
    int round, LocalTraining training, UpdateEncoding updateEncoding, OptionalDouble clipNorm) {

  /**
   * Checks the round and the clip norm.
   *
   * @param round 1-based round number
   * @param training how the site trains
   * @param updateEncoding how the site sends its update back
   * @param clipNorm the L2 norm the site clips its update to, if any
   */
  public RoundConfig {
    Require.atLeastOne("round", round);
    Objects.requireNonNull(training, "training");
    Objects.requireNonNull(updateEncoding, "updateEncoding");
    clipNorm.ifPresent(c -> Require.positive("clipNorm", c));
  }

  /**
   * Round {@code round}: train as {@code training} says, send full weights, no clipping.
   *
   * @param round 1-based round number
   * @param training how the site trains
   * @return the config
   */
  public static RoundConfig of(int round, LocalTraining training) {
    return new RoundConfig(round, training, UpdateEncoding.FULL, OptionalDouble.empty());
  }

  /**
   * This config with the update sent as {@code value}.
   *
   * @param value how the site sends its update back
   * @return the new config
   */
  public RoundConfig withUpdateEncoding(UpdateEncoding value) {
    return new RoundConfig(round, training, value, clipNorm);
  }

  /**
   * This config with the site clipping its update to L2 norm {@code value}.
   *
   * @param value the L2 norm, {@code > 0}
   * @return the new config
   */
  public RoundConfig withClipNorm(double value) {
    return new RoundConfig(round, training, updateEncoding, OptionalDouble.of(value));
  }
}
