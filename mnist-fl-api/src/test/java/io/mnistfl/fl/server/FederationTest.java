package io.mnistfl.fl.server;

import static io.mnistfl.testing.Toys.EVALUATOR;
import static io.mnistfl.testing.Toys.SPEC;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.fl.Client;
import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.fl.SiteFailure;
import io.mnistfl.fl.Transport;
import io.mnistfl.fl.UpdateEncoding;
import io.mnistfl.fl.aggregate.Aggregator;
import io.mnistfl.fl.aggregate.FedAdam;
import io.mnistfl.fl.aggregate.FedAvg;
import io.mnistfl.fl.aggregate.FedMedian;
import io.mnistfl.fl.sim.GaussianAttacker;
import io.mnistfl.fl.sim.InProcessTransport;
import io.mnistfl.fl.site.ClientRuntime;
import io.mnistfl.fl.site.SiteLimits;
import io.mnistfl.fl.wire.Messages;
import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.Weights;
import io.mnistfl.testing.Toys;
import io.mnistfl.testing.Toys.Toward;
import io.mnistfl.train.LocalTraining;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;

/** The round loop with arithmetic sites: failures, checks, sampling, stages, determinism. */
class FederationTest {

  static Federation.Builder federation(Transport transport, Strategy strategy) {
    return Federation.builder(SPEC, transport).strategy(strategy).evaluator(EVALUATOR);
  }

  static Federation.Builder federation(List<? extends Client> clients, Aggregator aggregator) {
    return federation(
        new InProcessTransport(clients), StandardStrategy.builder().aggregator(aggregator).build());
  }

  /** A transport that breaks chosen sites in chosen ways. */
  private static final class Faulty implements Transport {
    private final InProcessTransport inner;

    Faulty(List<Client> clients) {
      inner = new InProcessTransport(clients);
    }

    @Override
    public List<String> siteIds() {
      return inner.siteIds();
    }

    @Override
    public byte[] exchange(String id, byte[] request) throws IOException {
      switch (id) {
        case "down" -> throw new IOException("connection refused");
        case "flipped" -> {
          byte[] answer = inner.exchange(id, request);
          answer[answer.length / 2] ^= 0x40;
          return answer;
        }
        case "impostor" -> {
          return inner.exchange("good-1", request);
        }
        default -> {
          return inner.exchange(id, request);
        }
      }
    }
  }

  /** Answers with whatever update it is given. */
  private record Fixed(String id, int numExamples, Weights weights) implements Client {
    @Override
    public ClientUpdate fit(Weights global, RoundConfig config) {
      return new ClientUpdate(id, weights, numExamples, 0, 0);
    }

    @Override
    public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
      throw new UnsupportedOperationException();
    }
  }

  @Test
  void badSitesAreLeftOutWithTheirReasonAndTheRoundCompletes() {
    Weights wrongShape =
        new Weights(List.of(new Weights.NamedArray("w", new int[] {3}, new float[3])));
    float[] nan = {Float.NaN, 0};
    Weights notFinite =
        new Weights(
            List.of(
                new Weights.NamedArray("dense_1/kernel", new int[] {1, 2}, nan),
                new Weights.NamedArray("dense_1/bias", new int[] {2}, new float[2])));
    List<Client> clients =
        new ArrayList<>(
            List.of(
                new Toward("good-1", 1, 4),
                new Toward("good-2", 3, 4),
                new Toward("down", 1, 100),
                new Toward("flipped", 1, 100),
                new Toward("impostor", 1, 100),
                new Toward("inflated", 5000, 100)));
    clients.add(new Fixed("shape", 5, wrongShape));
    clients.add(new Fixed("nan", 5, notFinite));
    FederationHistory h =
        federation(new Faulty(clients), StandardStrategy.builder().build())
            .rounds(1)
            .maxExamplesPerSite(1000)
            .build()
            .run(Toys.zeros());

    RoundResult r = h.rounds().get(0);
    assertThat(r.sampled()).isEqualTo(8);
    assertThat(r.succeeded()).isEqualTo(2);
    assertThat(r.failures())
        .extracting(SiteFailure::toString)
        .containsExactlyInAnyOrder(
            "down: connection refused",
            "flipped: update checksum mismatch (corrupted in transit)",
            "impostor: answered as good-1, not impostor",
            "inflated: reports 5000 examples, outside 1..1000",
            "shape: update: 1 arrays, expected 2",
            "nan: update array dense_1/kernel holds NaN");
    // Only the good sites count: both move halfway to 4.
    assertThat(Toys.all(h.finalWeights())).containsExactly(2f, 2f, 2f, 2f);
  }

  @Test
  void theStrategySeesTheRoundsFailuresAndDecidesTheWeights() {
    List<FitResults> seen = new ArrayList<>();
    Strategy recording =
        new Strategy() {
          @Override
          public List<SiteInstruction> configureFit(
              int round, Weights global, List<String> available) {
            RoundConfig c = RoundConfig.of(round, new LocalTraining(1, 1, 0.1, 0, round));
            return available.stream().map(id -> new SiteInstruction(id, c)).toList();
          }

          @Override
          public Weights aggregateFit(int round, Weights global, FitResults results) {
            seen.add(results);
            return ((FitResults.Updates) results).updates().get(0).weights();
          }

          @Override
          public Map<String, String> parameters() {
            return Map.of("name", "recording");
          }
        };
    List<Client> clients = List.of(new Toward("down", 1, 9), new Toward("good-1", 1, 4));
    FederationHistory h =
        federation(new Faulty(clients), recording).rounds(2).build().run(Toys.zeros());
    assertThat(seen)
        .hasSize(2)
        .allSatisfy(
            results ->
                assertThat(results.failures())
                    .containsExactly(new SiteFailure("down", "connection refused")));
    assertThat(Toys.first(h.finalWeights())).isEqualTo(3f);
  }

  @Test
  void stopsAtTheTargetAndKeepsHistory() {
    List<Client> clients = List.of(new Toward("a", 1, 4), new Toward("b", 1, 4));
    FederationHistory h =
        federation(clients, new FedAvg()).rounds(50).target(0.97).build().run(Toys.zeros());
    // w after k rounds: 4 − 4/2^k, accuracy 1 − 1/2^k in whole percent: round 4 gives 0.94,
    // round 5 gives round(96.875) % = 0.97.
    assertThat(h.roundsToTarget()).hasValue(5);
    assertThat(h.rounds()).hasSize(5);
    assertThat(h.rounds().get(3).test().orElseThrow().accuracy()).isEqualTo(0.94);
    assertThat(h.rounds().get(4).test().orElseThrow().accuracy()).isEqualTo(0.97);
  }

  @Test
  void aServerWithoutATestSetRunsOnFederatedEvaluation() {
    List<Client> clients = List.of(new Toward("a", 1, 4), new Toward("b", 3, 4));
    FederationHistory h =
        Federation.builder(SPEC, new InProcessTransport(clients))
            .strategy(StandardStrategy.builder().federatedEvaluation(true).build())
            .rounds(2)
            .target(0.5)
            .build()
            .run(Toys.zeros());
    RoundResult r = h.rounds().get(0);
    assertThat(r.test()).isEmpty();
    Metrics federated = r.federated().orElseThrow();
    assertThat(federated.count()).isEqualTo(4);
    assertThat(federated.accuracy()).isEqualTo(0.5);
    assertThat(federated.loss()).isEqualTo(0.5);
    assertThat(h.roundsToTarget()).hasValue(1);
    assertThat(r.format()).contains("federated accuracy 0.5000").doesNotContain(" - loss");
  }

  /** Evaluates with a confusion matrix of its own making. */
  private record Evaluating(String id, int numExamples, ConfusionMatrix confusion)
      implements Client {
    @Override
    public ClientUpdate fit(Weights global, RoundConfig config) {
      return new Toward(id, numExamples, 4).fit(global, config);
    }

    @Override
    public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
      return new ClientEvaluation(id, numExamples, 0.3, confusion);
    }
  }

  @Test
  void malformedEvaluationsAreRefusedAndTheOthersStillCount() {
    // At 8822bcc a 3-class matrix crashed the server, or, sorting first, made its accuracy
    // 0.995 where the honest sites' was 0.908.
    ConfusionMatrix honest = ConfusionMatrix.fromCounts(new long[][] {{40, 10}, {0, 50}});
    List<Client> clients =
        List.of(
            new Evaluating(
                "a-three-classes",
                1000,
                ConfusionMatrix.fromCounts(new long[][] {{1000, 0, 0}, {0, 0, 0}, {0, 0, 0}})),
            new Evaluating(
                "b-miscounted", 100, ConfusionMatrix.fromCounts(new long[][] {{1000, 0}, {0, 0}})),
            new Evaluating(
                "c-negative", 100, ConfusionMatrix.fromCounts(new long[][] {{150, -50}, {0, 0}})),
            new Evaluating("d-honest", 100, honest),
            new Evaluating("e-honest", 100, honest));
    RoundResult r =
        federation(
                new InProcessTransport(clients),
                StandardStrategy.builder().federatedEvaluation(true).build())
            .rounds(1)
            .build()
            .run(Toys.zeros())
            .rounds()
            .get(0);
    assertThat(r.federated().orElseThrow().accuracy()).isEqualTo(0.9);
    assertThat(r.federated().orElseThrow().count()).isEqualTo(200);
    assertThat(r.failures())
        .extracting(SiteFailure::toString)
        .containsExactly(
            "a-three-classes: evaluate: a 3-class confusion matrix, the model has 2 classes",
            "b-miscounted: evaluate: its confusion matrix counts 1000 examples, it reports 100",
            "c-negative: evaluate: negative count -50 in its confusion matrix");
  }

  @Test
  void aSiteRefusesWorkBeyondItsLimitsWhateverTheServerAsks() {
    Strategy greedy =
        StandardStrategy.builder().localTraining(new LocalTraining(99, 10, 0.1, 0, 0)).build();
    ClientRuntime careful =
        ClientRuntime.of(new Toward("careful", 10, 4), new SiteLimits(20, 1000, 64));
    RoundResult r =
        federation(InProcessTransport.ofRuntimes(List.of(careful)), greedy)
            .rounds(1)
            .build()
            .run(Toys.zeros())
            .rounds()
            .get(0);
    assertThat(r.succeeded()).isZero();
    assertThat(r.failures())
        .extracting(SiteFailure::toString)
        .containsExactly(
            "careful: site careful refuses: asked for 99 local epochs, the site's limit is 20");
    SiteLimits limits = new SiteLimits(20, 1000, 64);
    assertThat(limits.violation(RoundConfig.of(1, new LocalTraining(5, 10, 0.1, 0, 0)), 300))
        .isEqualTo(
            "asked for 5 epochs of 300 examples, above the site's limit of 1000"
                + " examples a round");
    assertThat(limits.violation(RoundConfig.of(1, new LocalTraining(1, 128, 0.1, 0, 0)), 300))
        .isEqualTo("asked for batches of 128, the site's limit is 64");
    assertThat(limits.violation(RoundConfig.of(1, new LocalTraining(3, 64, 0.1, 0, 0)), 300))
        .isEmpty();
  }

  @Test
  void aMultiStageProtocolRunsOverTheSameTransportAsPlainTraining() {
    // Stage 1 asks each site for its example count, stage 2 for the count plus the round: two
    // exchanges per round through the transport, each site answering through its runtime.
    ClientRuntime.StageHandler counting =
        new ClientRuntime.StageHandler() {
          @Override
          public boolean handles(String kind) {
            return kind.startsWith("TST");
          }

          @Override
          public byte[] handle(byte[] request, Client client, SiteLimits limits) {
            int add = request[3] == '1' ? 0 : request[4];
            return new byte[] {(byte) (client.numExamples() + add)};
          }
        };
    List<String> stages = new ArrayList<>();
    FitProtocol twoStages =
        new FitProtocol() {
          @Override
          public FitResults run(
              RoundContext round, List<SiteInstruction> instructions, SiteExchange exchange) {
            Map<String, byte[]> first = new java.util.LinkedHashMap<>();
            Map<String, byte[]> second = new java.util.LinkedHashMap<>();
            for (SiteInstruction i : instructions) {
              first.put(i.siteId(), "TST1".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
              second.put(i.siteId(), new byte[] {'T', 'S', 'T', '2', (byte) round.round()});
            }
            int sum = 0;
            for (byte[] b : exchange.send("one", first).answers().values()) {
              sum += b[0];
            }
            stages.add("one");
            for (byte[] b : exchange.send("two", second).answers().values()) {
              sum += b[0];
            }
            stages.add("two");
            Weights delta = io.mnistfl.fl.aggregate.WeightMath.scaled(Toys.zeros(), 0);
            float[] v = delta.arrays().get(1).values();
            v[0] = sum;
            return new FitResults.Sum(delta, 1, instructions.size(), List.of());
          }

          @Override
          public boolean yieldsSums() {
            return true;
          }
        };
    List<ClientRuntime> sites =
        List.of(
            ClientRuntime.of(new Toward("a", 3, 0)).withStages(counting),
            ClientRuntime.of(new Toward("b", 4, 0)).withStages(counting));
    FederationHistory h =
        federation(InProcessTransport.ofRuntimes(sites), StandardStrategy.builder().build())
            .fitProtocol(twoStages)
            .rounds(2)
            .build()
            .run(Toys.zeros());
    assertThat(stages).containsExactly("one", "two", "one", "two");
    // Round 1 adds (3 + 4) + (4 + 5) = 16 to bias 0, round 2 adds (3 + 4) + (5 + 6) = 18.
    assertThat(Toys.all(h.finalWeights())[2]).isEqualTo(34f);
    // A protocol that yields sums refuses a strategy that needs each update.
    assertThatThrownBy(
            () ->
                federation(
                        InProcessTransport.ofRuntimes(sites),
                        StandardStrategy.builder().aggregator(new FedMedian()).build())
                    .fitProtocol(twoStages)
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("FedMedian needs each site's update");
  }

  @Test
  void anAbandonedRoundKeepsTheWeightsAndSaysWhy() {
    FitProtocol failing =
        (round, instructions, exchange) -> {
          throw new RoundAbandonedException(
              "only 1 of 3 sites survived, the threshold is 2",
              List.of(new SiteFailure("b", "gone")));
        };
    RoundResult r =
        federation(Toys.four(), new FedAvg())
            .fitProtocol(failing)
            .rounds(1)
            .build()
            .run(Toys.zeros())
            .rounds()
            .get(0);
    assertThat(r.abandoned()).hasValue("only 1 of 3 sites survived, the threshold is 2");
    assertThat(r.succeeded()).isZero();
    assertThat(r.format()).contains("abandoned: only 1 of 3 sites survived");
    assertThat(r.test().orElseThrow().accuracy()).isEqualTo(0.0);
  }

  @Test
  void aSeededGaussianAttackerIsOutvotedByTheMedian() {
    GaussianAttacker attacker = new GaussianAttacker(new Toward("x", 1000, 4), 100);
    StandardStrategy s = StandardStrategy.builder().build();
    Weights noise = attacker.fit(Toys.zeros(), s.roundConfig(1)).weights();
    assertThat(noise)
        .isEqualTo(attacker.fit(Toys.zeros(), s.roundConfig(1)).weights())
        .isNotEqualTo(attacker.fit(Toys.zeros(), s.roundConfig(2)).weights());
    assertThat(attacker.numExamples()).isEqualTo(1000);
    List<Client> clients = List.of(new Toward("a", 1, 4), attacker, new Toward("b", 1, 4));
    FederationHistory median =
        federation(clients, new FedMedian()).rounds(20).target(0.97).build().run(Toys.zeros());
    // Both honest sites move to 2, 3, 3.5, …: the median of (honest, honest, noise) is theirs.
    assertThat(median.roundsToTarget()).hasValue(5);
    FederationHistory mean =
        federation(clients, new FedAvg()).rounds(20).target(0.97).build().run(Toys.zeros());
    assertThat(mean.roundsToTarget()).isEmpty();
  }

  @Test
  void samplingIsSeededByRoundAndHonoursTheMinimum() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      ids.add(String.format("c%02d", i));
    }
    StandardStrategy s = StandardStrategy.builder().sampling(Sampling.fraction(0.1, 1)).build();
    List<String> round1 = ids(s.configureFit(1, Toys.zeros(), ids));
    assertThat(round1).hasSize(5).doesNotHaveDuplicates().isSorted();
    assertThat(ids(s.configureFit(1, Toys.zeros(), ids))).isEqualTo(round1);
    assertThat(ids(s.configureFit(2, Toys.zeros(), ids))).isNotEqualTo(round1);
    StandardStrategy atLeast =
        StandardStrategy.builder().sampling(Sampling.fraction(0.01, 8)).build();
    assertThat(atLeast.configureFit(1, Toys.zeros(), ids)).hasSize(8);
    Sampling poisson = Sampling.poisson(0.2);
    java.util.Set<Integer> sizes = new java.util.HashSet<>();
    int total = 0;
    for (int round = 1; round <= 200; round++) {
      List<String> chosen = poisson.sample(ids, new java.util.Random(round));
      assertThat(chosen).doesNotHaveDuplicates().isSorted();
      sizes.add(chosen.size());
      total += chosen.size();
    }
    // 10 expected per round; the mean of 200 rounds has a standard deviation of 0.2.
    assertThat(total / 200.0).isBetween(9.0, 11.0);
    assertThat(sizes).hasSizeGreaterThan(5);
  }

  private static List<String> ids(List<SiteInstruction> instructions) {
    return instructions.stream().map(SiteInstruction::siteId).toList();
  }

  @Test
  void quantizedUpdatesFederateToWithinAStepOfFullOnes() {
    List<Client> clients = List.of(new Toward("a", 1, 4), new Toward("b", 3, -2));
    Weights full =
        federation(clients, new FedAvg()).rounds(3).build().run(Toys.zeros()).finalWeights();
    StandardStrategy quantizing =
        StandardStrategy.builder().updateEncoding(UpdateEncoding.QUANTIZED_8BIT).build();
    Weights quantized =
        federation(new InProcessTransport(clients), quantizing)
            .rounds(3)
            .build()
            .run(Toys.zeros())
            .finalWeights();
    // Each site's update has equal values, so min = max and quantizing loses nothing.
    assertThat(Toys.all(quantized))
        .containsExactly(Toys.all(full), org.assertj.core.api.Assertions.within(1e-6f));
    assertThat(quantizing.roundConfig(2).updateEncoding()).isEqualTo(UpdateEncoding.QUANTIZED_8BIT);
  }

  @Test
  void sameSeedSameHistory() {
    List<Client> clients = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      clients.add(new Toward("c" + i, i + 1, i));
    }
    java.util.function.Supplier<Federation> f =
        () ->
            federation(
                    new InProcessTransport(clients),
                    StandardStrategy.builder()
                        .aggregator(new FedAdam(0.1, 0.9, 0.99, 1e-3))
                        .sampling(Sampling.fraction(0.3, 1))
                        .build())
                .rounds(5)
                .build();
    assertThat(f.get().run(Toys.zeros()).finalWeights())
        .isEqualTo(f.get().run(Toys.zeros()).finalWeights());
  }

  @Test
  void sitesReceiveTheDecayedLearningRateOfEachRoundThroughTheWire() {
    List<LocalTraining> seen = new ArrayList<>();
    Client recording =
        new Client() {
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
            seen.add(config.training());
            return new Toward("r", 1, 4).fit(global, config);
          }

          @Override
          public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
            throw new UnsupportedOperationException();
          }
        };
    StandardStrategy s =
        StandardStrategy.builder()
            .localTraining(new LocalTraining(2, 10, 0.2, 0.01, 0))
            .learningRateDecay(0.5)
            .seed(7)
            .build();
    federation(new InProcessTransport(List.of(recording)), s).rounds(3).build().run(Toys.zeros());
    assertThat(seen).extracting(LocalTraining::learningRate).containsExactly(0.2, 0.1, 0.05);
    assertThat(seen)
        .extracting(LocalTraining::seed)
        .containsExactly(7_000_021L + 1, 7_000_021L + 2, 7_000_021L + 3);
    assertThat(seen)
        .allSatisfy(
            t -> {
              assertThat(t.epochs()).isEqualTo(2);
              assertThat(t.batchSize()).isEqualTo(10);
              assertThat(t.proximalMu()).isEqualTo(0.01);
            });
  }

  /**
   * Holds every answering site's call until all of them have been called, then answers in the
   * reverse of the sampled order; a site named "stuck" never answers.
   */
  private static final class Slow implements Transport {
    private final InProcessTransport inner;
    private final List<String> ids;
    private final CyclicBarrier together;

    Slow(List<Client> clients, int answering) {
      inner = new InProcessTransport(clients);
      ids = inner.siteIds();
      together = new CyclicBarrier(answering);
    }

    @Override
    public List<String> siteIds() {
      return ids;
    }

    @Override
    public byte[] exchange(String id, byte[] request) throws IOException {
      if (!Messages.FIT.equals(io.mnistfl.fl.wire.Frame.kind(request).orElse(""))) {
        return inner.exchange(id, request);
      }
      try {
        if (id.equals("stuck")) {
          Thread.sleep(60_000);
        }
        together.await(10, TimeUnit.SECONDS);
        Thread.sleep(10L * (ids.size() - ids.indexOf(id)));
      } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
        throw new IOException("not called concurrently: " + e);
      }
      return inner.exchange(id, request);
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
  void parallelSitesOverlapAndAggregateInSampledOrder() {
    java.util.function.Supplier<Strategy> adam =
        () -> StandardStrategy.builder().aggregator(new FedAdam(0.1, 0.9, 0.99, 1e-3)).build();
    FederationHistory sequential =
        federation(new InProcessTransport(unequalClients()), adam.get())
            .rounds(3)
            .build()
            .run(Toys.zeros());
    List<Integer> progress = new ArrayList<>();
    FederationListener listener =
        new FederationListener() {
          @Override
          public void siteAnswered(int round, String stage, int done, int total) {
            progress.add(done);
          }
        };
    // Each round's six calls must all be in flight before any returns, and they return in
    // reverse order.
    FederationHistory parallel =
        federation(new Slow(unequalClients(), 6), adam.get())
            .rounds(3)
            .parallelism(6)
            .listener(listener)
            .build()
            .run(Toys.zeros());
    assertThat(parallel.rounds()).allSatisfy(r -> assertThat(r.failures()).isEmpty());
    // Bit-identical to one-at-a-time: arrival order does not change the aggregate.
    assertThat(parallel.finalWeights()).isEqualTo(sequential.finalWeights());
    assertThat(progress).containsExactly(1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6);
  }

  @Test
  void aSiteSilentPastTheStageDeadlineIsLeftOutAndTheRoundGoesOn() {
    List<Client> clients = new ArrayList<>(List.of(new Toward("a", 1, 4), new Toward("b", 1, 4)));
    clients.add(new Toward("stuck", 1, 100));
    FederationHistory h =
        federation(new Slow(clients, 2), StandardStrategy.builder().build())
            .rounds(2)
            .parallelism(3)
            .stageTimeout(Duration.ofMillis(1500))
            .timeoutCooling(0)
            .build()
            .run(Toys.zeros());
    for (RoundResult r : h.rounds()) {
      assertThat(r.succeeded()).isEqualTo(2);
      assertThat(r.failures())
          .extracting(SiteFailure::toString)
          .containsExactly("stuck: no answer within 1.5 s");
      assertThat(r.seconds()).isLessThan(30);
    }
    // Only a and b count: halfway to 4, twice.
    assertThat(Toys.first(h.finalWeights())).isEqualTo(3f);
  }

  @Test
  void eachBadSettingIsRejectedByName() {
    assertThatThrownBy(() -> StandardStrategy.builder().learningRateDecay(1.5).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("learningRateDecay must be in (0, 1], was 1.5");
    assertThatThrownBy(() -> new LocalTraining(5, 0, 0.1, 0, 0))
        .hasMessage("batchSize must be >= 1, was 0");
    assertThatThrownBy(() -> new LocalTraining(5, 10, -0.1, 0, 0))
        .hasMessage("learningRate must be > 0, was -0.1");
    assertThatThrownBy(() -> new LocalTraining(5, 10, 0.1, -1, 0))
        .hasMessage("proximalMu must be >= 0, was -1.0");
    assertThatThrownBy(() -> new LocalTraining(5, 10, Double.NaN, 0, 0))
        .hasMessage("learningRate must be > 0, was NaN");
    InProcessTransport none = new InProcessTransport(List.of());
    assertThatThrownBy(() -> Federation.builder(SPEC, none).target(99).build())
        .hasMessage("target must be in (0, 1], was 99.0");
    assertThatThrownBy(() -> Sampling.fraction(0, 1))
        .hasMessage("fraction must be in (0, 1], was 0.0");
    assertThatThrownBy(() -> Federation.builder(SPEC, none).rounds(0).build())
        .hasMessage("rounds must be >= 1, was 0");
    assertThatThrownBy(() -> Federation.builder(SPEC, none).parallelism(0).build())
        .hasMessage("parallelism must be >= 1, was 0");
    assertThatThrownBy(() -> Federation.builder(SPEC, none).stageTimeout(Duration.ZERO).build())
        .hasMessage("stageTimeout must be > 0, was PT0S");
    assertThatThrownBy(
            () ->
                Federation.builder(SPEC, none)
                    .build()
                    .run(io.mnistfl.model.ModelSpec.baseline().initialWeights()))
        .hasMessageStartingWith("the starting weights: 6 arrays, expected 2");
  }

  @Test
  void localTrainingIsAValueAndEachWithChangesOnlyItsOwnField() {
    LocalTraining a = new LocalTraining(1, 32, 0.01, 0, 0).withEpochs(5).withSeed(3);
    assertThat(a)
        .isEqualTo(new LocalTraining(5, 32, 0.01, 0, 3))
        .hasSameHashCodeAs(new LocalTraining(5, 32, 0.01, 0, 3));
    assertThat(a.withBatchSize(8)).isEqualTo(new LocalTraining(5, 8, 0.01, 0, 3));
    assertThat(a.withLearningRate(0.5)).isEqualTo(new LocalTraining(5, 32, 0.5, 0, 3));
    assertThat(a.withProximalMu(0.1)).isEqualTo(new LocalTraining(5, 32, 0.01, 0.1, 3));
    assertThat(LocalTraining.of(io.mnistfl.model.ModelSpec.baseline()))
        .isEqualTo(new LocalTraining(1, 32, 0.01, 0, 0));
    assertThat(Optional.of(RoundConfig.of(2, a).withClipNorm(1.5).clipNorm().getAsDouble()))
        .hasValue(1.5);
  }

  /** Sites that answer at once, but for {@code silent}, which never does until interrupted. */
  private static Transport withSilent(List<Client> clients, String silent) {
    InProcessTransport inner = new InProcessTransport(clients);
    return new Transport() {
      @Override
      public List<String> siteIds() {
        return inner.siteIds();
      }

      @Override
      public byte[] exchange(String id, byte[] request) throws IOException, InterruptedException {
        if (id.equals(silent)) {
          Thread.sleep(600_000);
        }
        return inner.exchange(id, request);
      }
    };
  }

  @Test
  void aSilentSiteIsCutSoonAfterTheOthersAnsweredAndSitsOutTheNextRounds() {
    List<Client> clients = new ArrayList<>(Toys.four());
    clients.add(new Toward("silent", 1, 100));
    List<String> warnings = new ArrayList<>();
    FederationHistory h =
        federation(withSilent(clients, "silent"), StandardStrategy.builder().build())
            .rounds(4)
            .parallelism(5)
            .stragglerWait(4, Duration.ofSeconds(1))
            .listener(
                new FederationListener() {
                  @Override
                  public void warning(String message) {
                    warnings.add(message);
                  }
                })
            .build()
            .run(Toys.zeros());
    // The stage timeout is 10 minutes by default: the silent site is cut by the straggler rule.
    RoundResult first = h.rounds().get(0);
    assertThat(first.sampled()).isEqualTo(5);
    assertThat(first.succeeded()).isEqualTo(4);
    assertThat(first.failures()).hasSize(1);
    assertThat(first.failures().get(0).siteId()).isEqualTo("silent");
    assertThat(first.failures().get(0).reason()).startsWith("no answer within ");
    assertThat(first.seconds()).isLessThan(60);
    // Rounds 2 and 3: left out while it cools off; round 4: sampled (and cut) again.
    for (RoundResult r : h.rounds().subList(1, 3)) {
      assertThat(r.sampled()).isEqualTo(4);
      assertThat(r.failures()).isEmpty();
    }
    assertThat(h.rounds().get(3).sampled()).isEqualTo(5);
    assertThat(h.rounds().get(3).failures())
        .extracting(SiteFailure::siteId)
        .containsExactly("silent");
    assertThat(warnings)
        .containsExactly(
            "round 2: not sampling [silent], which timed out in the last 2 rounds",
            "round 3: not sampling [silent], which timed out in the last 2 rounds");
  }

  @Test
  void callThreadsThatFallIdleEnd() throws Exception {
    Transport sites = new InProcessTransport(Toys.four());
    try (Exchanges exchange =
        new Exchanges(
            sites,
            64,
            new StageDeadline(Duration.ofMinutes(1), 0, Duration.ZERO),
            (stage, done, total) -> {},
            Duration.ofMillis(200))) {
      for (int round = 0; round < 20; round++) {
        Map<String, byte[]> requests = new java.util.LinkedHashMap<>();
        for (String id : sites.siteIds()) {
          requests.put(
              id,
              Messages.encodeEvaluate(
                  RoundConfig.of(1, new LocalTraining(1, 1, 0.1, 0, 0)), Toys.zeros()));
        }
        assertThat(exchange.send("evaluate", requests).answers()).hasSize(4);
      }
      // Never more threads than calls at once; none left once idle.
      assertThat(exchange.threads()).isLessThanOrEqualTo(64);
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (exchange.threads() > 0 && System.nanoTime() < end) {
        Thread.sleep(50);
      }
      assertThat(exchange.threads()).isZero();
    }
  }

  @Test
  void aTransportAnsweringNullIsNamedNotACrash() {
    InProcessTransport inner = new InProcessTransport(Toys.four());
    Transport nulls =
        new Transport() {
          @Override
          public List<String> siteIds() {
            return inner.siteIds();
          }

          @Override
          public byte[] exchange(String id, byte[] request) throws IOException {
            return id.equals("b") ? null : inner.exchange(id, request);
          }
        };
    FederationHistory h =
        federation(nulls, StandardStrategy.builder().build()).rounds(1).build().run(Toys.zeros());
    assertThat(h.rounds().get(0).succeeded()).isEqualTo(3);
    assertThat(h.rounds().get(0).failures())
        .extracting(SiteFailure::toString)
        .singleElement()
        .asString()
        .startsWith("b: the transport ")
        .endsWith(" returned no answer (null)");
  }

  /** A transport that lists {@code ids} and reaches nobody. */
  private static Transport listing(List<String> ids) {
    return new Transport() {
      @Override
      public List<String> siteIds() {
        return ids;
      }

      @Override
      public byte[] exchange(String id, byte[] request) throws IOException {
        throw new IOException("unreachable");
      }
    };
  }

  @Test
  void aTransportListingASiteTwiceOrNoneFailsTheRunNamingWhy() {
    assertThatThrownBy(
            () ->
                federation(listing(List.of("a", "b", "a")), StandardStrategy.builder().build())
                    .build()
                    .run(Toys.zeros()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("lists site a twice in siteIds()");
    assertThatThrownBy(
            () ->
                federation(listing(List.of()), StandardStrategy.builder().build())
                    .minSites(1, Duration.ofMillis(300))
                    .build()
                    .run(Toys.zeros()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("round 1: no site can be reached through the transport ")
        .hasMessageEndingWith("; a federation needs at least one site");
  }

  /** A site that holds nothing out: it answers an evaluation of 0 examples. */
  private record NoHeldOut(String id) implements Client {
    @Override
    public int numExamples() {
      return 1;
    }

    @Override
    public ClientUpdate fit(Weights global, RoundConfig config) {
      return new Toward(id, 1, 4).fit(global, config);
    }

    @Override
    public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
      return new ClientEvaluation(id, 0, Double.NaN, ConfusionMatrix.of(2, new int[0], new int[0]));
    }
  }

  @Test
  void aSiteWithNoHeldOutDataIsSkippedInFederatedEvaluationWithItsReason() {
    List<Client> clients = new ArrayList<>(Toys.four());
    clients.add(new NoHeldOut("empty"));
    FederationHistory h =
        federation(
                new InProcessTransport(clients),
                StandardStrategy.builder().federatedEvaluation(true).build())
            .rounds(1)
            .build()
            .run(Toys.zeros());
    RoundResult r = h.rounds().get(0);
    assertThat(r.succeeded()).isEqualTo(5);
    assertThat(r.federated()).isPresent();
    // The four sites that hold data out, 2 examples each.
    assertThat(r.federated().get().confusion().total()).isEqualTo(8);
    assertThat(r.failures())
        .extracting(SiteFailure::toString)
        .containsExactly("empty: evaluate: skipped, it holds no held-out data");
  }

  @Test
  void eachRoundAndEachWarningIsLoggedOnceThroughSystemLogger() {
    java.util.logging.Logger jul = java.util.logging.Logger.getLogger(Federation.class.getName());
    List<java.util.logging.LogRecord> records = new java.util.concurrent.CopyOnWriteArrayList<>();
    java.util.logging.Handler capture =
        new java.util.logging.Handler() {
          @Override
          public void publish(java.util.logging.LogRecord r) {
            records.add(r);
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    jul.addHandler(capture);
    try {
      List<Client> clients = new ArrayList<>(Toys.four());
      clients.add(new Toward("silent", 1, 100));
      federation(withSilent(clients, "silent"), StandardStrategy.builder().build())
          .rounds(2)
          .parallelism(5)
          .stragglerWait(4, Duration.ofMillis(500))
          .build()
          .run(Toys.zeros());
    } finally {
      jul.removeHandler(capture);
    }
    assertThat(records)
        .extracting(r -> r.getLevel() + " " + r.getMessage())
        .hasSize(3)
        .satisfiesExactly(
            first -> assertThat(first).startsWith("INFO round 1 - 4/5 sites"),
            warning ->
                assertThat(warning)
                    .isEqualTo(
                        "WARNING round 2: not sampling [silent], which timed out in the last 2"
                            + " rounds"),
            second -> assertThat(second).startsWith("INFO round 2 - 4/4 sites"));
    assertThat(records).allSatisfy(r -> assertThat(r.getThrown()).isNull());
  }
}
