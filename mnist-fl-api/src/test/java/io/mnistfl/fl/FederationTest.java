package io.mnistfl.fl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.Weights;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** The round loop with arithmetic clients: failures, sampling, determinism. */
class FederationTest {

  /** Moves every weight towards its target by half; reports its own size. */
  private record Toward(String id, int numExamples, float target) implements Client {
    @Override
    public ClientUpdate fit(Weights global, RoundConfig config) {
      float[] v = global.arrays().get(0).values().clone();
      for (int i = 0; i < v.length; i++) {
        v[i] += (target - v[i]) / 2;
      }
      return new ClientUpdate(id, new Weights(List.of(new Weights.NamedArray("w", new int[] {2},
          v))), numExamples, target, 0);
    }

    @Override
    public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
      return new ClientEvaluation(id, numExamples, 0.5,
          ConfusionMatrix.of(2, new int[] {0, 1}, new int[] {0, 0}));
    }
  }

  /** Test "accuracy" = 1 − |w₀ − 4| / 4, so reaching weight 4 means accuracy 1. */
  private static final GlobalEvaluator EVALUATOR = weights -> {
    double w = weights.arrays().get(0).values()[0];
    int correct = (int) Math.round(100 * Math.max(0, 1 - Math.abs(w - 4) / 4));
    int[] actual = new int[100];
    int[] predicted = new int[100];
    for (int i = correct; i < 100; i++) {
      predicted[i] = 1;
    }
    return Metrics.of(2, actual, predicted, 1 - correct / 100.0);
  };

  private static Weights start() {
    return new Weights(List.of(new Weights.NamedArray("w", new int[] {2}, new float[] {0, 0})));
  }

  /** A transport that breaks chosen clients in chosen ways. */
  private static final class Faulty implements Transport {
    private final InProcessTransport inner;

    Faulty(List<Client> clients) {
      inner = new InProcessTransport(clients);
    }

    @Override
    public List<String> clientIds() {
      return inner.clientIds();
    }

    @Override
    public byte[] fit(String id, byte[] request) throws IOException {
      switch (id) {
        case "down" -> throw new IOException("connection refused");
        case "flipped" -> {
          byte[] answer = inner.fit(id, request);
          answer[answer.length / 2] ^= 0x40;
          return answer;
        }
        default -> {
          return inner.fit(id, request);
        }
      }
    }

    @Override
    public byte[] evaluate(String id, byte[] request) throws IOException {
      return inner.evaluate(id, request);
    }
  }

  /** Answers with a differently shaped array. */
  private record WrongShape(String id) implements Client {
    @Override
    public int numExamples() {
      return 5;
    }

    @Override
    public ClientUpdate fit(Weights global, RoundConfig config) {
      return new ClientUpdate(id, new Weights(List.of(new Weights.NamedArray("w", new int[] {3},
          new float[3]))), 5, 0, 0);
    }

    @Override
    public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
      throw new UnsupportedOperationException();
    }
  }

  @Test
  void badClientsAreLeftOutAndTheRoundCompletes() {
    List<Client> clients = new ArrayList<>(List.of(new Toward("good-1", 1, 4),
        new Toward("good-2", 3, 4), new Toward("down", 1, 100), new Toward("flipped", 1, 100)));
    clients.add(new WrongShape("shape"));
    Federation f = new Federation(new Faulty(clients), new FedAvg(), EVALUATOR,
        FederationSettings.defaults().withRounds(1), FederationListener.NONE);

    FederationHistory h = f.run(start());

    RoundResult r = h.rounds().get(0);
    assertThat(r.sampled()).isEqualTo(5);
    assertThat(r.succeeded()).isEqualTo(2);
    assertThat(r.failures()).hasSize(3);
    assertThat(r.failures()).anyMatch(s -> s.startsWith("down: connection refused"));
    assertThat(r.failures()).anyMatch(s -> s.startsWith("flipped: update checksum mismatch"));
    assertThat(r.failures()).anyMatch(s -> s.startsWith("shape: update: array 0 is w[3]"));
    // Only the good clients count: both move halfway to 4.
    assertThat(h.finalWeights().arrays().get(0).values()).containsExactly(2f, 2f);
  }

  @Test
  void stopsAtTheTargetAndKeepsHistory() {
    List<Client> clients = List.of(new Toward("a", 1, 4), new Toward("b", 1, 4));
    Federation f = new Federation(new InProcessTransport(clients), new FedAvg(), EVALUATOR,
        FederationSettings.defaults().withRounds(50).withTarget(0.97), FederationListener.NONE);
    FederationHistory h = f.run(start());
    // w after k rounds: 4 − 4/2^k, accuracy 1 − 1/2^k in whole percent: round 4 gives 0.94,
    // round 5 gives round(96.875) % = 0.97.
    assertThat(h.roundsToTarget()).hasValue(5);
    assertThat(h.rounds()).hasSize(5);
    assertThat(h.rounds().get(3).test().accuracy()).isEqualTo(0.94);
    assertThat(h.rounds().get(4).test().accuracy()).isEqualTo(0.97);
  }

  @Test
  void aSeededGaussianAttackerIsOutvotedByTheMedian() {
    GaussianAttacker attacker = new GaussianAttacker(new Toward("x", 1000, 4), 100);
    RoundConfig round1 = FederationSettings.defaults().roundConfig(1);
    Weights noise = attacker.fit(start(), round1).weights();
    assertThat(noise).isEqualTo(attacker.fit(start(), round1).weights())
        .isNotEqualTo(attacker.fit(start(), FederationSettings.defaults().roundConfig(2))
            .weights());
    assertThat(attacker.numExamples()).isEqualTo(1000);
    List<Client> clients = List.of(new Toward("a", 1, 4), attacker, new Toward("b", 1, 4));
    FederationHistory median = new Federation(new InProcessTransport(clients), new FedMedian(),
        EVALUATOR, FederationSettings.defaults().withRounds(20).withTarget(0.97),
        FederationListener.NONE).run(start());
    // Both honest clients move to 2, 3, 3.5, …: the median of (honest, honest, noise) is theirs.
    assertThat(median.roundsToTarget()).hasValue(5);
    FederationHistory mean = new Federation(new InProcessTransport(clients), new FedAvg(),
        EVALUATOR, FederationSettings.defaults().withRounds(20).withTarget(0.97),
        FederationListener.NONE).run(start());
    assertThat(mean.roundsToTarget()).isEmpty();
  }

  @Test
  void resumingFromACheckpointEqualsAnUninterruptedRun() {
    List<Client> clients = List.of(new Toward("a", 1, 4), new Toward("b", 2, 8),
        new Toward("c", 3, -2), new Toward("d", 4, 1));
    FederationSettings six = FederationSettings.defaults().withRounds(6).withSampling(0.5, 1);
    FederationHistory whole = new Federation(new InProcessTransport(clients), new FedAvg(),
        EVALUATOR, six, FederationListener.NONE).run(start());

    List<FederationHistory> checkpoints = new ArrayList<>();
    FederationListener saving = new FederationListener() {
      @Override
      public void checkpoint(FederationHistory soFar) {
        checkpoints.add(soFar);
      }
    };
    new Federation(new InProcessTransport(clients), new FedAvg(), EVALUATOR, six.withRounds(3),
        saving).run(start());
    assertThat(checkpoints).extracting(h -> h.rounds().size()).containsExactly(1, 2, 3);
    FederationHistory resumed = new Federation(new InProcessTransport(clients), new FedAvg(),
        EVALUATOR, six, FederationListener.NONE).resume(checkpoints.get(2));

    assertThat(resumed.rounds()).extracting(RoundResult::round).containsExactly(1, 2, 3, 4, 5, 6);
    assertThat(resumed.finalWeights()).isEqualTo(whole.finalWeights());
    assertThat(resumed.rounds()).extracting(r -> r.test().accuracy())
        .isEqualTo(whole.rounds().stream().map(r -> r.test().accuracy()).toList());
    // Rounds 4 to 6 sample other clients than rounds 1 to 3 would, so restarting the round
    // count on resume would not give the same result.
    Federation f = new Federation(new InProcessTransport(clients), new FedAvg(), EVALUATOR, six,
        FederationListener.NONE);
    assertThat(List.of(f.sample(4), f.sample(5), f.sample(6)))
        .isNotEqualTo(List.of(f.sample(1), f.sample(2), f.sample(3)));
    // A history that is already complete comes back as it was.
    FederationHistory again = new Federation(new InProcessTransport(clients), new FedAvg(),
        EVALUATOR, six, FederationListener.NONE).resume(resumed);
    assertThat(again.rounds()).isEqualTo(resumed.rounds());
  }

  @Test
  void aResumedServerOptimizerTakesUpItsMomentsFromTheCheckpoint() {
    List<Client> clients = List.of(new Toward("a", 1, 4), new Toward("b", 2, 8),
        new Toward("c", 3, -2));
    FederationSettings six = FederationSettings.defaults().withRounds(6);
    FederationHistory whole = new Federation(new InProcessTransport(clients),
        Aggregator.named("fedadam"), EVALUATOR, six, FederationListener.NONE).run(start());
    FederationHistory half = new Federation(new InProcessTransport(clients),
        Aggregator.named("fedadam"), EVALUATOR, six.withRounds(3), FederationListener.NONE)
        .run(start());
    assertThat(half.aggregatorState()).hasSize(2);

    FederationHistory resumed = new Federation(new InProcessTransport(clients),
        Aggregator.named("fedadam"), EVALUATOR, six, FederationListener.NONE).resume(half);
    assertThat(resumed.finalWeights()).isEqualTo(whole.finalWeights());
    assertThat(resumed.aggregatorState()).hasSize(2);
    // Without the moments, FedAdam would start afresh and end elsewhere.
    FederationHistory forgetful = new Federation(new InProcessTransport(clients),
        Aggregator.named("fedadam"), EVALUATOR, six, FederationListener.NONE)
        .resume(new FederationHistory(half.rounds(), half.roundsToTarget(), half.totalSeconds(),
            half.finalWeights()));
    assertThat(forgetful.finalWeights()).isNotEqualTo(whole.finalWeights());
  }

  @Test
  void aResumedDpFederationGoesOnWithTheSameNoise() {
    List<Client> clients = List.of(new Toward("a", 1, 4), new Toward("b", 2, 8),
        new Toward("c", 3, -2));
    FederationSettings six = FederationSettings.defaults().withRounds(6).withPoissonSampling(0.5);
    java.util.function.Supplier<Aggregator> dp =
        () -> new DpFedAvg(1, 0.5, new java.util.Random(9)).withExpectedClients(1.5);
    FederationHistory whole = new Federation(new InProcessTransport(clients), dp.get(),
        EVALUATOR, six, FederationListener.NONE).run(start());
    FederationHistory half = new Federation(new InProcessTransport(clients), dp.get(),
        EVALUATOR, six.withRounds(3), FederationListener.NONE).run(start());
    // Every round, empty or not, draws one Gaussian per parameter: 3 rounds × 2.
    assertThat(half.aggregatorState()).singleElement()
        .satisfies(count -> assertThat(count).containsExactly(6.0));

    FederationHistory resumed = new Federation(new InProcessTransport(clients), dp.get(),
        EVALUATOR, six, FederationListener.NONE).resume(half);
    assertThat(resumed.finalWeights()).isEqualTo(whole.finalWeights());
    assertThatThrownBy(() -> dp.get().restore(List.of(new double[] {1, 2})))
        .hasMessageContaining("keeps one count of draws");
  }

  @Test
  void samplesAFractionSeededAndAtLeastTheMinimum() {
    List<Client> clients = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      clients.add(new Toward(String.format("c%02d", i), 1, 4));
    }
    FederationSettings s = FederationSettings.defaults().withSampling(0.1, 1);
    Federation f = new Federation(new InProcessTransport(clients), new FedAvg(), EVALUATOR, s,
        FederationListener.NONE);
    assertThat(f.sample(1)).hasSize(5).doesNotHaveDuplicates();
    assertThat(f.sample(1)).isEqualTo(f.sample(1));
    assertThat(f.sample(1)).isNotEqualTo(f.sample(2));
    Federation atLeast = new Federation(new InProcessTransport(clients), new FedAvg(), EVALUATOR,
        s.withSampling(0.01, 8), FederationListener.NONE);
    assertThat(atLeast.sample(1)).hasSize(8);
  }

  @Test
  void poissonSamplingDrawsEachClientIndependently() {
    List<Client> clients = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      clients.add(new Toward(String.format("c%02d", i), 1, 4));
    }
    FederationSettings s = FederationSettings.defaults().withPoissonSampling(0.2);
    Federation f = new Federation(new InProcessTransport(clients), new FedAvg(), EVALUATOR, s,
        FederationListener.NONE);
    java.util.Set<Integer> sizes = new java.util.HashSet<>();
    int total = 0;
    for (int round = 1; round <= 200; round++) {
      List<String> chosen = f.sample(round);
      assertThat(chosen).doesNotHaveDuplicates().isSorted();
      sizes.add(chosen.size());
      total += chosen.size();
    }
    // 10 expected per round; the mean of 200 rounds has a standard deviation of 0.2
    assertThat(total / 200.0).isBetween(9.0, 11.0);
    assertThat(sizes).hasSizeGreaterThan(5);
    assertThat(f.sample(3)).isEqualTo(f.sample(3));
    Federation all = new Federation(new InProcessTransport(clients), new FedAvg(), EVALUATOR,
        s.withPoissonSampling(1), FederationListener.NONE);
    assertThat(all.sample(1)).hasSize(50);
    assertThat(s.poissonSampling()).isTrue();
    assertThat(s.withSampling(0.2, 1).poissonSampling()).isFalse();
  }

  @Test
  void aRoundWithoutUpdatesStillGoesThroughTheAggregator() {
    List<Client> clients = List.of(new Toward("a", 1, 4), new Toward("b", 1, 4));
    Aggregator addsOne = new Aggregator() {
      @Override
      public Weights aggregate(Weights global, List<ClientUpdate> updates) {
        throw new AssertionError("no client was sampled");
      }

      @Override
      public Weights withoutUpdates(Weights global) {
        float[] v = global.arrays().get(0).values().clone();
        v[0] += 1;
        return new Weights(List.of(new Weights.NamedArray("w", new int[] {2}, v)));
      }
    };
    Federation f = new Federation(new InProcessTransport(clients), addsOne, EVALUATOR,
        FederationSettings.defaults().withRounds(3).withPoissonSampling(1e-9),
        FederationListener.NONE);

    FederationHistory h = f.run(start());

    assertThat(h.rounds()).extracting(RoundResult::sampled).containsExactly(0, 0, 0);
    assertThat(h.finalWeights().arrays().get(0).values()).containsExactly(3f, 0f);
    assertThat(h.rounds().get(0).clientTrainLoss()).isNaN();
  }

  @Test
  void quantizedUpdatesFederateToWithinAStepOfFullOnes() {
    List<Client> clients = List.of(new Toward("a", 1, 4), new Toward("b", 3, -2));
    FederationSettings s = FederationSettings.defaults().withRounds(3);
    Weights full = new Federation(new InProcessTransport(clients), new FedAvg(), EVALUATOR, s,
        FederationListener.NONE).run(start()).finalWeights();
    Weights quantized = new Federation(new InProcessTransport(clients), new FedAvg(), EVALUATOR,
        s.withUpdateEncoding(UpdateEncoding.QUANTIZED_8BIT), FederationListener.NONE)
        .run(start()).finalWeights();
    // Each client's update has equal values, so min = max and quantizing loses nothing.
    assertThat(quantized.arrays().get(0).values())
        .containsExactly(full.arrays().get(0).values(), org.assertj.core.api.Assertions.within(
            1e-6f));
    assertThat(s.withUpdateEncoding(UpdateEncoding.QUANTIZED_8BIT).roundConfig(2)
        .updateEncoding()).isEqualTo(UpdateEncoding.QUANTIZED_8BIT);
  }

  @Test
  void federatedEvaluationSumsClientConfusionMatrices() {
    List<Client> clients = List.of(new Toward("a", 1, 4), new Toward("b", 3, 4));
    Federation f = new Federation(new InProcessTransport(clients), new FedAvg(), EVALUATOR,
        FederationSettings.defaults().withRounds(1).withFederatedEvaluation(true),
        FederationListener.NONE);
    Metrics federated = f.run(start()).rounds().get(0).federated().orElseThrow();
    assertThat(federated.count()).isEqualTo(4);
    assertThat(federated.accuracy()).isEqualTo(0.5);
    assertThat(federated.loss()).isEqualTo(0.5);
  }

  @Test
  void sameSeedSameHistory() {
    List<Client> clients = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      clients.add(new Toward("c" + i, i + 1, i));
    }
    FederationSettings s = FederationSettings.defaults().withRounds(5).withSampling(0.3, 1);
    Weights a = new Federation(new InProcessTransport(clients), new FedAdam(0.1, 0.9, 0.99, 1e-3),
        EVALUATOR, s, FederationListener.NONE).run(start()).finalWeights();
    Weights b = new Federation(new InProcessTransport(clients), new FedAdam(0.1, 0.9, 0.99, 1e-3),
        EVALUATOR, s, FederationListener.NONE).run(start()).finalWeights();
    assertThat(a).isEqualTo(b);
  }

  @Test
  void clientsReceiveTheDecayedLearningRateOfEachRound() {
    List<Double> seen = new ArrayList<>();
    Client recording = new Client() {
      @Override
      public String id() {
        return "r";
      }

      @Override
      public int numExamples() {
        return 1;
      }

      @Override
      public ClientUpdate fit(Weights global, RoundConfig config) {
        seen.add(config.learningRate());
        return new Toward("r", 1, 4).fit(global, config);
      }

      @Override
      public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
        throw new UnsupportedOperationException();
      }
    };
    FederationSettings s = FederationSettings.defaults().withRounds(3)
        .withLocalTraining(1, 10, 0.2, 0).withLearningRateDecay(0.5);
    new Federation(new InProcessTransport(List.of(recording)), new FedAvg(), EVALUATOR, s,
        FederationListener.NONE).run(start());
    // Through the byte format: 0.2, 0.2·0.5, 0.2·0.5².
    assertThat(seen).containsExactly(0.2, 0.1, 0.05);
  }

  /**
   * Holds every answering client's call until all of them have been called, then answers in the
   * reverse of the sampled order; a client named "stuck" never answers.
   */
  private static final class Slow implements Transport {
    private final InProcessTransport inner;
    private final List<String> ids;
    private final CyclicBarrier together;

    Slow(List<Client> clients, int answering) {
      inner = new InProcessTransport(clients);
      ids = inner.clientIds();
      together = new CyclicBarrier(answering);
    }

    @Override
    public List<String> clientIds() {
      return ids;
    }

    @Override
    public byte[] fit(String id, byte[] request) throws IOException {
      try {
        if (id.equals("stuck")) {
          Thread.sleep(60_000);
        }
        together.await(10, TimeUnit.SECONDS);
        Thread.sleep(10L * (ids.size() - ids.indexOf(id)));
      } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
        throw new IOException("not called concurrently: " + e);
      }
      return inner.fit(id, request);
    }

    @Override
    public byte[] evaluate(String id, byte[] request) throws IOException {
      return inner.evaluate(id, request);
    }
  }

  private static List<Client> unequalClients() {
    List<Client> clients = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      clients.add(new Toward("c" + i, i + 1, i * 1.7f));
    }
    return clients;
  }

  @Test
  void parallelClientsOverlapAndAggregateInSampledOrder() {
    FederationSettings s = FederationSettings.defaults().withRounds(3).withSampling(1, 1);
    FederationHistory sequential = new Federation(new InProcessTransport(unequalClients()),
        new FedAdam(0.1, 0.9, 0.99, 1e-3), EVALUATOR, s, FederationListener.NONE).run(start());
    List<Integer> progress = new ArrayList<>();
    FederationListener listener = new FederationListener() {
      @Override
      public void clientFinished(int round, int done, int sampled) {
        progress.add(done);
      }
    };
    // Each round's six calls must all be in flight before any returns, and they return in
    // reverse order.
    FederationHistory parallel = new Federation(new Slow(unequalClients(), 6),
        new FedAdam(0.1, 0.9, 0.99, 1e-3), EVALUATOR, s.withParallelClients(6), listener)
        .run(start());
    assertThat(parallel.rounds()).allSatisfy(r -> assertThat(r.failures()).isEmpty());
    // Bit-identical to one-at-a-time: arrival order does not change the aggregate.
    assertThat(parallel.finalWeights()).isEqualTo(sequential.finalWeights());
    assertThat(progress).containsExactly(1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6);
  }

  @Test
  void aClientSilentPastTheRoundTimeoutIsLeftOutAndTheRoundGoesOn() {
    List<Client> clients = new ArrayList<>(List.of(new Toward("a", 1, 4), new Toward("b", 1, 4)));
    clients.add(new Toward("stuck", 1, 100));
    FederationSettings s = FederationSettings.defaults().withRounds(2).withParallelClients(3)
        .withRoundTimeout(Duration.ofMillis(1500));
    FederationHistory h = new Federation(new Slow(clients, 2), new FedAvg(),
        EVALUATOR, s, FederationListener.NONE).run(start());
    for (RoundResult r : h.rounds()) {
      assertThat(r.succeeded()).isEqualTo(2);
      assertThat(r.failures()).containsExactly("stuck: no answer within 1.5 s");
      assertThat(r.seconds()).isLessThan(30);
    }
    // Only a and b count: halfway to 4, twice.
    assertThat(h.finalWeights().arrays().get(0).values()).containsExactly(3f, 3f);
  }

  @Test
  void eachBadSettingIsRejectedByName() {
    FederationSettings d = FederationSettings.defaults();
    assertThatThrownBy(() -> d.withLearningRateDecay(1.5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("learningRateDecay must be in (0, 1], was 1.5");
    assertThatThrownBy(() -> d.withLocalTraining(5, 0, 0.1, 0))
        .hasMessage("batchSize must be >= 1, was 0");
    assertThatThrownBy(() -> d.withLocalTraining(5, 10, -0.1, 0))
        .hasMessage("learningRate must be > 0, was -0.1");
    assertThatThrownBy(() -> d.withLocalTraining(5, 10, 0.1, -1))
        .hasMessage("proximalMu must be >= 0, was -1.0");
    assertThatThrownBy(() -> d.withLocalTraining(5, 10, Double.NaN, 0))
        .hasMessage("learningRate must be > 0, was NaN");
    assertThatThrownBy(() -> d.withTarget(99))
        .hasMessage("targetAccuracy must be in (0, 1], was 99.0");
    assertThatThrownBy(() -> d.withSampling(0, 1))
        .hasMessage("fraction must be in (0, 1], was 0.0");
    assertThatThrownBy(() -> d.withRounds(0)).hasMessage("rounds must be >= 1, was 0");
    assertThatThrownBy(() -> d.withParallelClients(0))
        .hasMessage("parallelClients must be >= 1, was 0");
    assertThatThrownBy(() -> d.withRoundTimeout(Duration.ZERO))
        .hasMessage("roundTimeout must be > 0, was PT0S");
  }

  @Test
  void settingsAreValuesAndEachWithChangesOnlyItsOwnFields() {
    FederationSettings a = FederationSettings.defaults().withRounds(7).withTarget(0.9);
    FederationSettings b = FederationSettings.defaults().withTarget(0.9).withRounds(7);
    assertThat(a).isEqualTo(b).hasSameHashCodeAs(b).isNotEqualTo(a.withSeed(1));
    assertThat(a.rounds()).isEqualTo(7);
    assertThat(a.targetAccuracy()).hasValue(0.9);
    assertThat(a.batchSize()).isEqualTo(FederationSettings.defaults().batchSize());
    assertThat(a.withSeed(1).seed()).isEqualTo(1);
    assertThat(a.withSeed(1).rounds()).isEqualTo(7);
  }
}
