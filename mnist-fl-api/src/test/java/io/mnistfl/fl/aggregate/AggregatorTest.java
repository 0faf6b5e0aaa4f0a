package io.mnistfl.fl.aggregate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.StrategyState;
import io.mnistfl.model.Weights;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each aggregator against values worked out by hand, to float precision. */
class AggregatorTest {
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

  @Test
  void fedAvgWeightsByExampleCount() {
    // (1·1 + 3·5) / 4 = 4 and (1·(-2) + 3·2) / 4 = 1
    Weights next = new FedAvg().aggregate(w(0, 0), List.of(u("a", 1, 1, -2), u("b", 3, 5, 2)));
    assertThat(values(next)).containsExactly(new float[] {4f, 1f}, within(EPS));
  }

  @Test
  void fedAvgRejectsEmptyRoundsAndZeroExamples() {
    assertThatThrownBy(() -> new FedAvg().aggregate(w(0), List.of()))
        .hasMessage("no updates to aggregate");
    assertThatThrownBy(() -> new FedAvg().aggregate(w(0), List.of(u("c", 0, 1))))
        .hasMessage("c: numExamples must be > 0, was 0");
  }

  @Test
  void fedAvgMAccumulatesServerMomentum() {
    FedAvgM m = new FedAvgM(1.0, 0.5);
    // round 1: global 0, average 2 → Δ 2, v 2, global 2
    Weights g1 = m.aggregate(w(0), List.of(u("a", 1, 2)));
    assertThat(values(g1)[0]).isCloseTo(2f, within(EPS));
    // round 2: global 2, average 3 → Δ 1, v 0.5·2 + 1 = 2, global 4
    Weights g2 = m.aggregate(g1, List.of(u("a", 1, 3)));
    assertThat(values(g2)[0]).isCloseTo(4f, within(EPS));
  }

  @Test
  void serverOptimizersCarryTheirStateToAFreshInstance() {
    for (String name : List.of("fedavgm", "fedadam", "fedyogi", "fedadagrad")) {
      Aggregator first = Aggregator.named(name);
      assertThat(first.state().isEmpty()).as(name).isTrue();
      Weights g1 = first.aggregate(w(0, 1), List.of(u("a", 1, 2, 3)));
      Weights g2 = first.aggregate(g1, List.of(u("a", 1, 3, 1)));
      Aggregator second = Aggregator.named(name);
      second.restore(first.state());
      List<ClientUpdate> round3 = List.of(u("a", 1, 5, -1));
      assertThat(values(second.aggregate(g2, round3)))
          .as(name)
          .containsExactly(values(first.aggregate(g2, round3)));
      // A fresh instance without the state takes another step.
      assertThat(values(Aggregator.named(name).aggregate(g2, round3)))
          .as(name)
          .isNotEqualTo(values(second.aggregate(g2, round3)));
    }
  }

  @Test
  void aStateThatDoesNotFitIsRefusedByName() {
    FedAdam adam = new FedAdam(0.1, 0.9, 0.99, 0.01);
    StrategyState three =
        StrategyState.ofPositional(List.of(new double[1], new double[1], new double[1]));
    assertThatThrownBy(() -> adam.restore(three))
        .hasMessage(adam + " keeps 2 arrays per weight array, but was given 3");
    StrategyState unnamed = StrategyState.empty().withArray("momentum", new double[3]);
    assertThatThrownBy(() -> adam.restore(unnamed))
        .hasMessage(
            adam
                + " keeps moments m.0.. and v.0.. of one length, but was given"
                + " StrategyState[momentum[3]]");
    adam.restore(
        StrategyState.empty()
            .withArrays("m", new double[][] {new double[3]})
            .withArrays("v", new double[][] {new double[3]}));
    assertThatThrownBy(() -> adam.aggregate(w(0, 1), List.of(u("a", 1, 2, 3))))
        .hasMessage(adam + ": the restored state does not fit the global weights");
    FedAvg plain = new FedAvg();
    assertThatThrownBy(() -> plain.restore(StrategyState.empty().withScalar("t", 1)))
        .hasMessage(plain + " keeps no state, but was given StrategyState[t=1.0]");
    plain.restore(StrategyState.empty());
  }

  @Test
  void aPerSiteMapSurvivesAsNamedState() {
    // The shape a custom strategy's per-site state takes: one array and one scalar per site.
    StrategyState state = StrategyState.empty();
    for (String site : List.of("site-a", "site-b")) {
      state =
          state
              .withArray("site/" + site + "/drift", new double[] {site.length(), 0.5})
              .withScalar("site/" + site + "/rounds", 3);
    }
    assertThat(state.arrays().keySet()).containsExactly("site/site-a/drift", "site/site-b/drift");
    assertThat(state.scalar("site/site-b/rounds")).hasValue(3);
    assertThat(state.without("site/site-a/drift").arrays()).hasSize(1);
    assertThatThrownBy(() -> StrategyState.empty().withScalar("a name with spaces", 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("a state name must be 1 to 256 of");
    assertThatThrownBy(
            () ->
                StrategyState.empty()
                    .withScalar("x", 1)
                    .plus(StrategyState.empty().withScalar("x", 2)))
        .hasMessage("state name x is used twice");
  }

  @Test
  void fedAdamFollowsReddiAlgorithmTwo() {
    // eta 0.1, beta1 0.9, beta2 0.99, tau 0.01; v starts at tau² = 1e-4.
    FedAdam adam = new FedAdam(0.1, 0.9, 0.99, 0.01);
    Weights g1 = adam.aggregate(w(1), List.of(u("a", 1, 3)));
    double delta = 2;
    double m = 0.1 * delta;
    double v = 0.99 * 1e-4 + 0.01 * delta * delta;
    double expected1 = 1 + 0.1 * m / (Math.sqrt(v) + 0.01);
    assertThat(values(g1)[0]).isCloseTo((float) expected1, within(EPS));
    // second round from the new global, average 0
    Weights g2 = adam.aggregate(g1, List.of(u("a", 1, 0)));
    double delta2 = 0 - (float) expected1;
    double m2 = 0.9 * m + 0.1 * delta2;
    double v2 = 0.99 * v + 0.01 * delta2 * delta2;
    double expected2 = (float) expected1 + 0.1 * m2 / (Math.sqrt(v2) + 0.01);
    assertThat(values(g2)[0]).isCloseTo((float) expected2, within(EPS));
  }

  @Test
  void fedYogiMovesTheSecondMomentBySign() {
    FedYogi yogi = new FedYogi(0.1, 0.0, 0.9, 0.1);
    // v0 = 0.01; Δ = 1 → Δ² = 1 > v0: v = 0.01 + 0.1·1 = 0.11; m = Δ = 1
    Weights g1 = yogi.aggregate(w(0), List.of(u("a", 1, 1)));
    assertThat(values(g1)[0]).isCloseTo((float) (0.1 * 1 / (Math.sqrt(0.11) + 0.1)), within(EPS));
  }

  @Test
  void fedAdagradSumsSquaredPseudoGradients() {
    FedAdagrad adagrad = new FedAdagrad(1.0, 0.0, 0.5);
    // v0 = 0.25, Δ = 2: v = 4.25, m = 2, step = 2 / (sqrt(4.25) + 0.5)
    Weights g1 = adagrad.aggregate(w(0), List.of(u("a", 1, 2)));
    double expected = 2 / (Math.sqrt(4.25) + 0.5);
    assertThat(values(g1)[0]).isCloseTo((float) expected, within(EPS));
    // Δ = 0 next: v stays 4.25, m stays 2 (beta1 = 0 → m = Δ = 0), no move
    Weights g2 = adagrad.aggregate(g1, List.of(u("a", 1, values(g1)[0])));
    assertThat(values(g2)[0]).isCloseTo((float) expected, within(EPS));
  }

  @Test
  void serverOptimizersRejectBadHyperparametersByName() {
    assertThatThrownBy(() -> new FedAvgM(1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("momentum must be in [0, 1), was 1.0");
    assertThatThrownBy(() -> new FedAdam(0, 0.9, 0.99, 1e-3))
        .hasMessage("eta must be > 0, was 0.0");
    assertThatThrownBy(() -> new FedYogi(0.01, 0.9, -0.5, 1e-3))
        .hasMessage("beta2 must be in [0, 1), was -0.5");
    assertThatThrownBy(() -> new FedAdagrad(0.1, 0, 0)).hasMessage("tau must be > 0, was 0.0");
  }

  @Test
  void fedMedianIgnoresAnOutlierAndItsInflatedCount() {
    // Per element: median(1, 2, 100) = 2 and median(10, -5, 0) = 0, although the outlier claims
    // 1,000 of 1,002 examples; FedAvg would land next to it.
    List<ClientUpdate> round = List.of(u("a", 1, 1, 10), u("b", 1, 2, -5), u("bad", 1000, 100, 0));
    assertThat(values(new FedMedian().aggregate(w(0, 0), round)))
        .containsExactly(new float[] {2f, 0f}, within(EPS));
    assertThat(values(new FedAvg().aggregate(w(0, 0), round))[0]).isGreaterThan(99f);
    // an even count takes the mean of the middle two: (2 + 4) / 2
    assertThat(
            values(
                new FedMedian()
                    .aggregate(
                        w(0), List.of(u("a", 1, 1), u("b", 1, 4), u("c", 1, 100), u("d", 1, 2)))))
        .containsExactly(new float[] {3f}, within(EPS));
  }

  @Test
  void fedTrimmedAvgDropsTheExtremesAndAveragesTheRestEqually() {
    // beta 0.2 of 5 trims one value from each side: mean(1, 2, 3) = 2
    List<ClientUpdate> five =
        List.of(u("a", 1, 3), u("b", 1, -50), u("c", 1, 1), u("d", 1, 1000), u("e", 1, 2));
    assertThat(values(new FedTrimmedAvg(0.2).aggregate(w(0), five)))
        .containsExactly(new float[] {2f}, within(EPS));
    // of 4, floor(0.8) = 0 trimmed: the plain mean (1 + 2 + 3 + 6) / 4, example counts ignored
    List<ClientUpdate> four = List.of(u("a", 1, 1), u("b", 1, 2), u("c", 1, 3), u("d", 9, 6));
    assertThat(values(new FedTrimmedAvg(0.2).aggregate(w(0), four)))
        .containsExactly(new float[] {3f}, within(EPS));
    assertThatThrownBy(() -> new FedTrimmedAvg(0.5))
        .hasMessage("beta must be in [0, 0.5), was 0.5");
  }

  @Test
  void krumPicksTheUpdateClosestToItsNeighbours() {
    // n = 5, f = 1: each score sums the squared distances to the 2 nearest others.
    // a (0,0): {1, 2, 4, 200} → 3; b (1,0): {1, 1, 5, 181} → 2; c (0,2): {2, 4, 5, 164} → 6;
    // e (1,1): {1, 2, 2, 162} → 3; bad (10,10): {162, 164, 181, 200} → 326
    List<ClientUpdate> round =
        List.of(
            u("a", 1, 0, 0),
            u("b", 1, 1, 0),
            u("c", 1, 0, 2),
            u("e", 1, 1, 1),
            u("bad", 1000, 10, 10));
    assertThat(values(new Krum(1, 1).aggregate(w(0, 0), round)))
        .containsExactly(new float[] {1f, 0f}, within(EPS));
    // Multi-Krum with 3: b, then a and e (tied at 3) → mean of (1,0), (0,0), (1,1)
    assertThat(values(new Krum(1, 3).aggregate(w(0, 0), round)))
        .containsExactly(new float[] {2f / 3, 1f / 3}, within(EPS));
    // a round left with one update takes it
    assertThat(values(new Krum(1, 1).aggregate(w(0, 0), List.of(u("c", 1, 0, 2)))))
        .containsExactly(new float[] {0f, 2f}, within(EPS));
    assertThatThrownBy(() -> new Krum(-1, 1)).hasMessage("byzantine must be >= 0, was -1");
    assertThatThrownBy(() -> new Krum(1, 0)).hasMessage("selected must be >= 1, was 0");
    assertThatThrownBy(() -> new Krum(1, 1).aggregate(w(0), List.of()))
        .hasMessage("no updates to aggregate");
  }

  @Test
  void meanAggregatorsStepFromTheMeanDeltaAsFromTheirAverage() {
    List<ClientUpdate> round = List.of(u("a", 1, 2, 4), u("b", 3, 6, 0));
    Weights global = w(1, 1);
    // the example-weighted mean delta: ((2 − 1)·1 + (6 − 1)·3) / 4, ((4 − 1)·1 + (0 − 1)·3) / 4
    Weights meanDelta = w(4, 0);
    assertThat(values(new FedAvg().aggregateMean(global, meanDelta)))
        .containsExactly(values(new FedAvg().aggregate(global, round)));
    assertThat(values(new FedAdam(0.1, 0.9, 0.99, 1e-3).aggregateMean(global, meanDelta)))
        .containsExactly(values(new FedAdam(0.1, 0.9, 0.99, 1e-3).aggregate(global, round)));
    assertThat(values(new FedAvgM(1, 0.9).aggregateMean(global, meanDelta)))
        .containsExactly(values(new FedAvgM(1, 0.9).aggregate(global, round)));
    assertThat(new FedAvg().aggregatesMeans()).isTrue();
    assertThat(new Krum(1, 1).aggregatesMeans()).isFalse();
    assertThatThrownBy(() -> new FedMedian().aggregateMean(global, meanDelta))
        .isInstanceOf(UnsupportedOperationException.class)
        .hasMessage(
            "FedMedian needs each site's update, not their mean: it cannot run under"
                + " secure aggregation or DP-FedAvg");
  }

  @Test
  void namesParse() {
    assertThat(Aggregator.named("fedyogi")).isInstanceOf(FedYogi.class);
    assertThat(Aggregator.named("fedmedian")).hasToString("FedMedian");
    assertThat(Aggregator.named("fedtrimmedavg")).hasToString("FedTrimmedAvg(beta=0.2)");
    assertThat(Aggregator.named("fedtrimmedavg:0.1")).hasToString("FedTrimmedAvg(beta=0.1)");
    assertThat(Aggregator.named("krum")).hasToString("Krum(byzantine=1, selected=1)");
    assertThat(Aggregator.named("krum:2:3")).hasToString("Krum(byzantine=2, selected=3)");
    assertThatThrownBy(() -> Aggregator.named("median"))
        .hasMessageContaining("unknown aggregator 'median'");
    assertThatThrownBy(() -> Aggregator.named("fedavg:2"))
        .hasMessage("aggregator 'fedavg:2': fedavg takes no parameter");
    assertThatThrownBy(() -> Aggregator.named("krum:1:2:3"))
        .hasMessage("aggregator 'krum:1:2:3': krum takes at most 2 parameters");
    assertThatThrownBy(() -> Aggregator.named("krum:one"))
        .hasMessage("aggregator 'krum:one': not a number after ':'");
  }
}
