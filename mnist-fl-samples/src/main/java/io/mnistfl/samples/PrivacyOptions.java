package io.mnistfl.samples;

import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.privacy.DpFedAvg;
import io.mnistfl.fl.privacy.PrivacyAccountant;
import io.mnistfl.fl.server.StandardStrategy;
import io.mnistfl.fl.server.Strategy;
import java.util.Optional;
import picocli.CommandLine.Option;

/** {@code federate}'s differential privacy: DP-FedAvg's options, checks, strategy and report. */
final class PrivacyOptions {
  @Option(
      names = "--dp-clip",
      paramLabel = "S",
      description =
          "Differential privacy (DP-FedAvg): clip each client's update to L2 norm S,"
              + " add Gaussian noise to the sum and divide by C*N; each client takes part with"
              + " probability C (Poisson sampling), as the privacy accounting assumes; replaces"
              + " --aggregator.")
  Optional<Double> dpClip;

  @Option(
      names = "--dp-noise",
      paramLabel = "Z",
      defaultValue = "1.0",
      description =
          "DP-FedAvg noise multiplier: noise std Z*S on the sum of updates"
              + " (default: ${DEFAULT-VALUE}).")
  double dpNoise;

  @Option(
      names = "--dp-delta",
      paramLabel = "DELTA",
      defaultValue = "1e-5",
      description =
          "The delta of the (epsilon, delta) reported for DP-FedAvg"
              + " (default: ${DEFAULT-VALUE}).")
  double dpDelta;

  @Option(
      names = "--dp-seeded-noise",
      description =
          "Simulations only: draw DP-FedAvg's noise and sampling from --seed, so that the run"
              + " is reproducible. Whoever knows the seed can regenerate the noise and subtract"
              + " it: the model is then not private. Default: SecureRandom; refused with"
              + " --listen.")
  boolean dpSeededNoise;

  boolean on() {
    return dpClip.isPresent();
  }

  /** Fails on a bad or contradictory option; {@code remote} with --listen. */
  void check(Optional<String> aggregator, int minClients, boolean remote) {
    if (on() && aggregator.isPresent() && !aggregator.get().equals("fedavg")) {
      throw new IllegalArgumentException(
          "--dp-clip runs DP-FedAvg, which averages; leave out"
              + " --aggregator "
              + aggregator.get());
    }
    if (on() && minClients != 1) {
      throw new IllegalArgumentException(
          "--dp-clip samples each client with probability C,"
              + " so there is no minimum; leave out --min-clients "
              + minClients);
    }
    if (dpSeededNoise && !on()) {
      throw new IllegalArgumentException("--dp-seeded-noise goes with --dp-clip");
    }
    if (dpSeededNoise && remote) {
      throw new IllegalArgumentException(
          "--dp-seeded-noise would let anyone who knows the seed regenerate the noise and"
              + " subtract it; with --listen the noise comes from SecureRandom only");
    }
    if (!(dpDelta > 0 && dpDelta < 1)) {
      throw new IllegalArgumentException("--dp-delta must be in (0, 1), was " + dpDelta);
    }
  }

  /** DP-FedAvg around {@code inner}, each site sampled with probability {@code q}. */
  Strategy wrap(StandardStrategy inner, double q, long seed) {
    DpFedAvg.Builder dp =
        DpFedAvg.wrap(inner).clipNorm(dpClip.get()).noiseMultiplier(dpNoise).samplingProbability(q);
    if (dpSeededNoise) {
      // Reproduces a simulation; a resumed run skips the draws its checkpoint counted.
      dp.seededForSimulation(seed);
    }
    return dp.build();
  }

  /** The user-level ε spent after {@code rounds} rounds, sampling with probability q; none off. */
  Optional<Double> epsilon(int rounds, double q) {
    return on()
        ? Optional.of(PrivacyAccountant.epsilon(q, dpNoise, rounds, dpDelta))
            .filter(e -> !e.isInfinite())
        : Optional.empty();
  }

  /** The privacy the rounds spent, as one line. */
  void report(FederationHistory history, double q, int clients) {
    double epsilon = PrivacyAccountant.epsilon(q, dpNoise, history.rounds().size(), dpDelta);
    System.out.printf(
        "privacy: user-level (epsilon %s, delta %s) after %d rounds of"
            + " DP-FedAvg, each of %d clients sampled with probability %.3g, noise multiplier"
            + " %s%n",
        Double.isInfinite(epsilon) ? "infinite: no noise" : String.format("%.3g", epsilon),
        dpDelta,
        history.rounds().size(),
        clients,
        q,
        dpNoise);
  }
}
