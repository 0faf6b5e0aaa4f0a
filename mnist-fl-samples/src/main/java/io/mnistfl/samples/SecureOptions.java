package io.mnistfl.samples;

import io.mnistfl.fl.secagg.SecAggConfig;
import java.util.Optional;
import picocli.CommandLine.Option;

/** {@code federate}'s secure aggregation: SecAgg+'s options and checks. */
final class SecureOptions {
  @Option(
      names = "--secure-aggregation",
      description =
          "SecAgg+: the server learns only the sum of the sampled sites' updates,"
              + " never one of them (the README states the threat model). Needs an averaging"
              + " aggregator; with --listen, certificates (--pki or your own PKI).")
  boolean secureAggregation;

  @Option(
      names = "--secagg-neighbours",
      paramLabel = "K",
      defaultValue = "0",
      description =
          "Each site shares its secrets with K others (default: 2*ceil(log2 n) for n"
              + " sites in the round, at most n-1). Sites reveal nothing with fewer than that"
              + " default, so a smaller K abandons the round before it starts.")
  int secaggNeighbours;

  @Option(
      names = "--secagg-threshold",
      paramLabel = "T",
      defaultValue = "0",
      description =
          "Shares that rebuild a secret: a site's update stays hidden unless T of its"
              + " K neighbours collude with the server; a round with a secret held by fewer than T"
              + " surviving neighbours is abandoned. At least 2 and more than K/2, which the"
              + " sites check too (default: floor(K/2)+1).")
  int secaggThreshold;

  @Option(
      names = "--secagg-clip",
      paramLabel = "R",
      defaultValue = "1.0",
      description =
          "Each value of a site's weighted update is clipped to [-R, R] before it is"
              + " quantized (default: ${DEFAULT-VALUE}); with --dp-clip, S takes its place.")
  double secaggClip;

  @Option(
      names = "--secagg-example-cap",
      paramLabel = "N",
      defaultValue = "10000",
      description =
          "A site's update weighs min(examples, N)/N in the secure sum"
              + " (default: ${DEFAULT-VALUE}).")
  int secaggExampleCap;

  boolean on() {
    return secureAggregation;
  }

  /** SecAgg+ with these options and {@code bits} (of --quantize-updates), if asked for. */
  Optional<SecAggConfig> config(Optional<Integer> bits) {
    if (!secureAggregation) {
      return Optional.empty();
    }
    return Optional.of(
        SecAggConfig.defaults()
            .withNeighbourhood(secaggNeighbours, secaggThreshold)
            .withBits(bits.orElse(16))
            .withClipRange(secaggClip)
            .withExampleCap(secaggExampleCap));
  }

  /** Fails on a contradictory option. */
  void check(boolean insecure, int byzantine) {
    if (!secureAggregation && (secaggNeighbours != 0 || secaggThreshold != 0)) {
      throw new IllegalArgumentException(
          "--secagg-neighbours and --secagg-threshold go with" + " --secure-aggregation");
    }
    if (secureAggregation && insecure) {
      throw new IllegalArgumentException(
          "--secure-aggregation needs the sites' certificates"
              + " to check their signatures; it cannot run with --insecure");
    }
    if (secureAggregation && byzantine > 0) {
      throw new IllegalArgumentException(
          "--byzantine attackers send noise in the clear; they"
              + " cannot take part in --secure-aggregation");
    }
  }
}
