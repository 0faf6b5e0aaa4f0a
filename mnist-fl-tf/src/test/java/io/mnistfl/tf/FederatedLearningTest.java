package io.mnistfl.tf;

import static org.assertj.core.api.Assertions.assertThat;

import io.mnistfl.data.DataSource;
import io.mnistfl.data.TrainTestData;
import io.mnistfl.fl.Client;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.fl.aggregate.Aggregator;
import io.mnistfl.fl.aggregate.FedAvg;
import io.mnistfl.fl.aggregate.FedMedian;
import io.mnistfl.fl.server.Federation;
import io.mnistfl.fl.server.StandardStrategy;
import io.mnistfl.fl.sim.GaussianAttacker;
import io.mnistfl.fl.sim.InProcessTransport;
import io.mnistfl.fl.sim.Partitioning;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.train.LocalTraining;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** TensorFlow clients on a real MNIST subset: the global model must learn round by round. */
class FederatedLearningTest {

  private static final TrainTestData MNIST = MnistFixture.mnist();
  private static final DataSource POOL = MNIST.train().subset(IntStream.range(0, 8_000).toArray());
  private static final DataSource TEST = MNIST.test().subset(IntStream.range(0, 2_000).toArray());

  @Test
  void fourClientsLearnTogether() {
    List<int[]> parts = new Partitioning.Iid().split(POOL.labels(), 10, 4, 7);
    try (TfModel shared = TfModel.create(ModelSpec.baseline())) {
      List<RoundResult> rounds =
          federate(
              shared,
              TfClient.simulate(shared, POOL, parts, 0.1),
              StandardStrategy.builder().federatedEvaluation(true).build(),
              4);

      assertThat(rounds).hasSize(4).allMatch(r -> r.succeeded() == 4 && r.failures().isEmpty());
      double first = rounds.get(0).test().orElseThrow().accuracy();
      double last = rounds.get(3).test().orElseThrow().accuracy();
      assertThat(last).isGreaterThan(first).isGreaterThan(0.9);
      assertThat(rounds.get(3).test().orElseThrow().loss())
          .isLessThan(rounds.get(0).test().orElseThrow().loss());
      // Federated evaluation covers the 4 × 200 held-out examples.
      assertThat(rounds.get(3).federated().orElseThrow().count()).isEqualTo(800);
      assertThat(rounds.get(3).federated().orElseThrow().accuracy()).isGreaterThan(0.85);
    }
  }

  @Test
  void theMedianLearnsWhereOneGaussianAttackerWrecksFedAvg() {
    List<int[]> parts = new Partitioning.Iid().split(POOL.labels(), 10, 5, 7);
    try (TfModel shared = TfModel.create(ModelSpec.baseline())) {
      List<Client> clients = new ArrayList<>(TfClient.simulate(shared, POOL, parts, 0));
      clients.set(2, new GaussianAttacker(clients.get(2), 1.0));
      List<RoundResult> fedAvg = federate(shared, clients, twoEpochs(new FedAvg()), 4);
      List<RoundResult> median = federate(shared, clients, twoEpochs(new FedMedian()), 4);
      assertThat(fedAvg).allMatch(r -> r.succeeded() == 5);
      assertThat(fedAvg.get(3).test().orElseThrow().accuracy()).isLessThan(0.5);
      assertThat(median.get(3).test().orElseThrow().accuracy()).isGreaterThan(0.9);
    }
  }

  private static StandardStrategy twoEpochs(Aggregator aggregator) {
    return StandardStrategy.builder()
        .aggregator(aggregator)
        .localTraining(new LocalTraining(2, 32, 0.01, 0, 0))
        .build();
  }

  /** Runs a federation of {@code clients} from the preset's initial weights. */
  private static List<RoundResult> federate(
      TfModel shared, List<? extends Client> clients, StandardStrategy strategy, int rounds) {
    try (InProcessTransport transport = new InProcessTransport(clients)) {
      return Federation.builder(ModelSpec.baseline(), transport)
          .strategy(strategy)
          .evaluator(
              weights -> {
                synchronized (shared) {
                  shared.setWeights(weights);
                  return shared.evaluate(TEST);
                }
              })
          .rounds(rounds)
          .build()
          .run()
          .rounds();
    }
  }
}
