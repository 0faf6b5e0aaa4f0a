package io.mnistfl.tf;

import static org.assertj.core.api.Assertions.assertThat;

import io.mnistfl.data.DataSource;
import io.mnistfl.data.TrainTestData;
import io.mnistfl.fl.Aggregator;
import io.mnistfl.fl.Client;
import io.mnistfl.fl.FedAvg;
import io.mnistfl.fl.FedMedian;
import io.mnistfl.fl.Federation;
import io.mnistfl.fl.FederationHistory;
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

  @Test
  void fourClientsLearnTogether() {
    TrainTestData mnist = MnistFixture.mnist();
    DataSource pool = mnist.train().subset(IntStream.range(0, 8_000).toArray());
    DataSource test = mnist.test().subset(IntStream.range(0, 2_000).toArray());
    List<int[]> parts = new Partitioning.Iid().split(pool.labels(), 10, 4, 7);
    ModelSpec spec = ModelSpec.baseline();
    try (TfModel shared = TfModel.create(spec);
        InProcessTransport transport = new InProcessTransport(
            TfClient.simulate(shared, pool, parts, 0.1))) {
      Federation federation = new Federation(transport, new FedAvg(), weights -> {
        shared.setWeights(weights);
        return shared.evaluate(test);
      }, FederationSettings.defaults().withRounds(4).withFederatedEvaluation(true),
          FederationListener.NONE);

      FederationHistory history = federation.run(spec.initialWeights());

      List<RoundResult> rounds = history.rounds();
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
    TrainTestData mnist = MnistFixture.mnist();
    DataSource pool = mnist.train().subset(IntStream.range(0, 8_000).toArray());
    DataSource test = mnist.test().subset(IntStream.range(0, 2_000).toArray());
    List<int[]> parts = new Partitioning.Iid().split(pool.labels(), 10, 5, 7);
    ModelSpec spec = ModelSpec.baseline();
    try (TfModel shared = TfModel.create(spec)) {
      List<Client> clients = new ArrayList<>(TfClient.simulate(shared, pool, parts, 0));
      clients.set(2, new GaussianAttacker(clients.get(2), 1.0));
      double fedAvg = finalAccuracy(shared, clients, test, new FedAvg());
      double median = finalAccuracy(shared, clients, test, new FedMedian());
      assertThat(fedAvg).isLessThan(0.5);
      assertThat(median).isGreaterThan(0.9);
    }
  }

  private static double finalAccuracy(TfModel shared, List<Client> clients, DataSource test,
      Aggregator aggregator) {
    try (InProcessTransport transport = new InProcessTransport(clients)) {
      Federation federation = new Federation(transport, aggregator, weights -> {
        shared.setWeights(weights);
        return shared.evaluate(test);
      }, FederationSettings.defaults().withRounds(4).withLocalTraining(2, 32, 0.01, 0),
          FederationListener.NONE);
      List<RoundResult> rounds = federation.run(ModelSpec.baseline().initialWeights()).rounds();
      assertThat(rounds).allMatch(r -> r.succeeded() == 5);
      return rounds.get(3).test().accuracy();
    }
  }
}
