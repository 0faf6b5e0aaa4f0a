package io.mnistfl.fl.privacy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.StrategyState;
import io.mnistfl.fl.aggregate.FedMedian;
import io.mnistfl.fl.checkpoint.Checkpoint;
import io.mnistfl.fl.server.Federation;
import io.mnistfl.fl.server.FitResults;
import io.mnistfl.fl.server.Sampling;
import io.mnistfl.fl.server.SiteInstruction;
import io.mnistfl.fl.server.StandardStrategy;
import io.mnistfl.fl.sim.InProcessTransport;
import io.mnistfl.model.Weights;
import io.mnistfl.testing.Toys;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** DP-FedAvg as a decorator: clipping, noise, the fixed denominator and its sampling. */
class DpFedAvgTest {
  private static final float EPS = 1e-6f;

  private static Weights w(float... values) {
    return new Weights(List.of(new Weights.NamedArray("w", new int[] {values.length}, values)));
  }

  private static ClientUpdate u(String id, int n, float... values) {
    return new ClientUpdate(id, w(values), n, 0, 0);
  }

  private static float[] values(Weights weights) {
    return weights.arrays().get(0).values();
  }

  /** DP-FedAvg around FedAvg, configured for a round over {@code sites} available sites. */
  private static DpFedAvg dp(double clip, double z, double q, long seed, int sites) {
    DpFedAvg dp =
        DpFedAvg.wrap(StandardStrategy.builder().build())
            .clipNorm(clip)
            .noiseMultiplier(z)
            .samplingProbability(q)
            .seededForSimulation(seed)
            .build();
    List<String> ids = new java.util.ArrayList<>();
    for (int i = 0; i < sites; i++) {
      ids.add("s" + i);
    }
    dp.configureFit(1, w(0, 0), ids);
    return dp;
  }

  private static FitResults updates(ClientUpdate... updates) {
    return new FitResults.Updates(List.of(updates), List.of());
  }

  @Test
  void clipsEachUpdateThenAddsNoiseToTheSumOverQN() {
    // Δa = (3, 4) has norm 5 and is clipped to 1: (0.6, 0.8); Δb = (0.3, 0.4) keeps its 0.5.
    // Equal weights despite the counts, over q·N = 1 · 2: global + (0.9, 1.2) / 2.
    FitResults round = updates(u("a", 1, 13, 14), u("b", 99, 10.3f, 10.4f));
    Weights clipped = dp(1, 0, 1, 1, 2).aggregateFit(1, w(10, 10), round);
    assertThat(values(clipped)).containsExactly(new float[] {10.45f, 10.6f}, within(EPS));
    // with z = 0.5 each element of the sum gets 0.5 · 1 · g, g from the same seeded generator
    Random expected = new Random(7);
    double g0 = expected.nextGaussian();
    double g1 = expected.nextGaussian();
    Weights noisy = dp(1, 0.5, 1, 7, 2).aggregateFit(1, w(10, 10), round);
    assertThat(values(noisy))
        .containsExactly(
            new float[] {(float) (10 + (0.9 + 0.5 * g0) / 2), (float) (10 + (1.2 + 0.5 * g1) / 2)},
            within(EPS));
  }

  @Test
  void dividesByTheExpectedNumberOfSitesAndNoisesEvenAnEmptyRound() {
    FitResults round = updates(u("a", 1, 13, 14), u("b", 99, 10.3f, 10.4f));
    // the same clipped sum (0.9, 1.2), over q·N = 0.5 · 8 = 4, not the 2 that came
    assertThat(values(dp(1, 0, 0.5, 1, 8).aggregateFit(1, w(10, 10), round)))
        .containsExactly(new float[] {10.225f, 10.3f}, within(EPS));
    Random expected = new Random(7);
    double g0 = expected.nextGaussian();
    double g1 = expected.nextGaussian();
    DpFedAvg noisy = dp(1, 0.5, 0.5, 7, 8);
    Weights empty = noisy.aggregateFit(1, w(10, 10), updates());
    assertThat(values(empty))
        .containsExactly(
            new float[] {(float) (10 + 0.5 * g0 / 4), (float) (10 + 0.5 * g1 / 4)}, within(EPS));
    assertThat(noisy.state()).isEqualTo(StrategyState.empty().withScalar("dp.draws", 2));
  }

  @Test
  void underSecureAggregationTheSitesClipAndTheNoiseGoesOnTheirSum() {
    DpFedAvg dp = dp(1, 0.5, 0.5, 7, 8);
    List<SiteInstruction> told = dp.configureFit(2, w(0, 0), List.of("a", "b", "c", "d"));
    assertThat(told).allSatisfy(i -> assertThat(i.config().clipNorm()).hasValue(1.0));
    Random expected = new Random(7);
    double g0 = expected.nextGaussian();
    double g1 = expected.nextGaussian();
    // The sites' clipped deltas summed to (0.9, 1.2), each site weighing 1.
    Weights next =
        dp.aggregateFit(2, w(10, 10), new FitResults.Sum(w(0.9f, 1.2f), 2, 2, List.of()));
    // q·N = 0.5 · 4 sites available in round 2.
    assertThat(values(next))
        .containsExactly(
            new float[] {(float) (10 + (0.9 + 0.5 * g0) / 2), (float) (10 + (1.2 + 0.5 * g1) / 2)},
            within(EPS));
  }

  @Test
  void clipsOverAllArraysTogether() {
    // one update spread over two arrays, (3) and (4): norm 5 as a whole, clipped to 2.5
    Weights global =
        new Weights(
            List.of(
                new Weights.NamedArray("a", new int[] {1}, new float[1]),
                new Weights.NamedArray("b", new int[] {1}, new float[1])));
    Weights mine =
        new Weights(
            List.of(
                new Weights.NamedArray("a", new int[] {1}, new float[] {3}),
                new Weights.NamedArray("b", new int[] {1}, new float[] {4})));
    Weights next =
        dp(2.5, 0, 1, 1, 1).aggregateFit(1, global, updates(new ClientUpdate("a", mine, 1, 0, 0)));
    assertThat(next.arrays().get(0).values()[0]).isCloseTo(1.5f, within(EPS));
    assertThat(next.arrays().get(1).values()[0]).isCloseTo(2f, within(EPS));
  }

  @Test
  void aResumedDpFederationGoesOnWithTheSameNoise() {
    java.util.function.Supplier<Federation.Builder> f =
        () ->
            Federation.builder(
                    Toys.SPEC,
                    new InProcessTransport(
                        List.of(
                            new Toys.Toward("a", 1, 4),
                            new Toys.Toward("b", 2, 8),
                            new Toys.Toward("c", 3, -2))))
                .evaluator(Toys.EVALUATOR)
                .strategy(
                    DpFedAvg.wrap(StandardStrategy.builder().build())
                        .clipNorm(1)
                        .noiseMultiplier(0.5)
                        .samplingProbability(0.5)
                        .seededForSimulation(9)
                        .build());
    FederationHistory whole = f.get().rounds(6).build().run(Toys.zeros());
    FederationHistory half = f.get().rounds(3).build().run(Toys.zeros());
    // Every round, empty or not, draws one Gaussian per parameter: 3 rounds × 4.
    assertThat(half.strategyState()).isEqualTo(StrategyState.empty().withScalar("dp.draws", 12));
    Federation six = f.get().rounds(6).build();
    FederationHistory resumed = six.resume(new Checkpoint(six.provenance(), half));
    assertThat(resumed.finalWeights()).isEqualTo(whole.finalWeights());
    DpFedAvg fresh = DpFedAvg.wrap(StandardStrategy.builder().build()).build();
    assertThatThrownBy(() -> fresh.restore(StrategyState.empty().withArray("x", new double[2])))
        .hasMessageContaining("keeps a count of draws (dp.draws)");
    // A format-1 checkpoint's positional state: the count, then the wrapped strategy's.
    fresh.restore(StrategyState.ofPositional(List.of(new double[] {3})));
    assertThat(fresh.state()).isEqualTo(StrategyState.empty().withScalar("dp.draws", 3));
  }

  @Test
  void itWrapsOnlyStrategiesThatAverageAndSamplesTheSitesItself() {
    assertThatThrownBy(
            () ->
                DpFedAvg.wrap(StandardStrategy.builder().aggregator(new FedMedian()).build())
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "DpFedAvg hands its strategy a noisy sum, but FedMedian needs each site's" + " update");
    DpFedAvg overSampled =
        DpFedAvg.wrap(StandardStrategy.builder().sampling(Sampling.fraction(0.5, 1)).build())
            .samplingProbability(1)
            .build();
    assertThatThrownBy(() -> overSampled.configureFit(1, w(0), List.of("a", "b", "c", "d")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("must instruct every site it is given (use Sampling.all())");
    assertThatThrownBy(() -> DpFedAvg.wrap(StandardStrategy.builder().build()).clipNorm(0).build())
        .hasMessage("clipNorm must be > 0, was 0.0");
  }

  @Test
  void byDefaultTheNoiseComesFromSecureRandomAndNoSeedRegeneratesIt() {
    // The review's attack: a site that knows the run's seed regenerates the server's noise and
    // subtracts it from the new global weights, recovering the noiseless sum.
    FitResults round = updates(u("a", 1, 13, 14), u("b", 99, 10.3f, 10.4f));
    double noiseless0 = 10 + 0.9 / 2;
    DpFedAvg seeded =
        DpFedAvg.wrap(StandardStrategy.builder().build())
            .noiseMultiplier(0.5)
            .seededForSimulation(42)
            .build();
    seeded.configureFit(1, w(0, 0), List.of("a", "b"));
    float seededNext = values(seeded.aggregateFit(1, w(10, 10), round))[0];
    double regenerated = 0.5 * new Random(42).nextGaussian() / 2;
    // Seeded (a simulation): the attack works, to float precision.
    assertThat(seededNext - regenerated).isCloseTo(noiseless0, within(1e-5));
    assertThat(seeded.parameters())
        .containsEntry("dp.randomness", "seeded 42 (a reproducible simulation: not private)");

    float[] secure = new float[2];
    for (int run = 0; run < 2; run++) {
      DpFedAvg dp = DpFedAvg.wrap(StandardStrategy.builder().build()).noiseMultiplier(0.5).build();
      assertThat(dp.parameters()).containsEntry("dp.randomness", "SecureRandom");
      dp.configureFit(1, w(0, 0), List.of("a", "b"));
      secure[run] = values(dp.aggregateFit(1, w(10, 10), round))[0];
      // The seeds an attacker would try first (the CLI's default 42, 0, 1) regenerate nothing.
      for (long guess : new long[] {42, 0, 1}) {
        double guessed = 0.5 * new Random(guess).nextGaussian() / 2;
        assertThat(Math.abs(secure[run] - guessed - noiseless0)).isGreaterThan(1e-6);
      }
    }
    assertThat(secure[0]).isNotEqualTo(secure[1]);
  }
}
