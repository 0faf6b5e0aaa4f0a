package io.mnistfl.tf;

import static org.assertj.core.api.Assertions.assertThat;

import io.mnistfl.data.DataSource;
import io.mnistfl.data.TrainTestData;
import io.mnistfl.fl.Aggregator;
import io.mnistfl.fl.Client;
import io.mnistfl.fl.FedAvg;
import io.mnistfl.fl.FedMedian;
import io.mnistfl.fl.Federation;
import io.mnistfl.fl.FederationListener;
import io.mnistfl.fl.FederationSettings;
import io.mnistfl.fl.GaussianAttacker;
import io.mnistfl.fl.InProcessTransport;
import io.mnistfl.fl.Partitioning;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.model.ModelSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Four TensorFlow clients on a real MNIST subset: the global model must learn round by round. */
class FederatedLearningTest {

  private static final TrainTestData MNIST = MnistFixture.mnist();
  private static final DataSource POOL =
      MNIST.train().subset(IntStream.range(0, 8_000).toArray());
  private static final DataSource TEST = MNIST.test().subset(IntStream.range(0, 2_000).toArray());

  @Test
  void fourClientsLearnTogether() {
    List<int[]> parts = new Partitioning.Iid().split(POOL.labels(), 10, 4, 7);
    try (TfModel shared = TfModel.create(ModelSpec.baseline())) {
      List<RoundResult> rounds = federate(shared, TfClient.simulate(shared, POOL, parts, 0.1),
          new FedAvg(), FederationSettings.defaults().withRounds(4).withFederatedEvaluation(true));

      assertThat(rounds).hasSize(4).allMatch(r -> r.succeeded() == 4 && r.failures().isEmpty());
      double first = rounds.get(0).test().accuracy();
      double last = rounds.get(3).test().accuracy();
      assertThat(last).isGreaterThan(first).isGreaterThan(0.9);
      assertThat(rounds.get(3).test().loss()).isLessThan(rounds.get(0).test().loss());
      // Federated evaluation covers the 4 × 200 held-out examples.
      assertThat(rounds.get(3).federated().orElseThrow().count()).isEqualTo(800);
      assertThat(rounds.get(3).federated().orElseThrow().accuracy()).isGreaterThan(0.85);
    }
  }

  @Test
  void theMedianLearnsWhereOneGaussianAttackerWrecksFedAvg() {
    List<int[]> parts = new Partitioning.Iid().split(POOL.labels(), 10, 5, 7);
    FederationSettings settings =
        FederationSettings.defaults().withRounds(4).withLocalTraining(2, 32, 0.01, 0);
    try (TfModel shared = TfModel.create(ModelSpec.baseline())) {
      List<Client> clients = new ArrayList<>(TfClient.simulate(shared, POOL, parts, 0));
      clients.set(2, new GaussianAttacker(clients.get(2), 1.0));
      List<RoundResult> fedAvg = federate(shared, clients, new FedAvg(), settings);
      List<RoundResult> median = federate(shared, clients, new FedMedian(), settings);
      assertThat(fedAvg).allMatch(r -> r.succeeded() == 5);
      assertThat(fedAvg.get(3).test().accuracy()).isLessThan(0.5);
      assertThat(median.get(3).test().accuracy()).isGreaterThan(0.9);
    }
  }

  /** Runs a federation of {@code clients} from the preset's initial weights. */
  private static List<RoundResult> federate(TfModel shared, List<? extends Client> clients,
      Aggregator aggregator, FederationSettings settings) {
    try (InProcessTransport transport = new InProcessTransport(clients)) {
      Federation federation = new Federation(transport, aggregator, weights -> {
        shared.setWeights(weights);
        return shared.evaluate(TEST);
      }, settings, FederationListener.NONE);
      return federation.run(ModelSpec.baseline().initialWeights()).rounds();
    }
  }
}
