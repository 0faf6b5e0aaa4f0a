package io.mnistfl.tf;

import static org.assertj.core.api.Assertions.assertThat;

import io.mnistfl.data.TrainTestData;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.fl.Transport;
import io.mnistfl.fl.secagg.SecAggConfig;
import io.mnistfl.fl.secagg.SecAggSite;
import io.mnistfl.fl.secagg.SecureAggregation;
import io.mnistfl.fl.secagg.SimulatedIdentities;
import io.mnistfl.fl.server.Federation;
import io.mnistfl.fl.server.StandardStrategy;
import io.mnistfl.fl.sim.InProcessTransport;
import io.mnistfl.fl.sim.Partitioning;
import io.mnistfl.fl.site.ClientRuntime;
import io.mnistfl.model.ModelSpec;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Secure aggregation learns as plain FedAvg does: 10 IID sites on all of MNIST, the baseline
 * network, 5 rounds, the same seeds; only the 16-bit shared-scale quantization differs.
 */
class SecureAggregationLearningTest {
  private static final TrainTestData MNIST = MnistFixture.mnist();

  @Test
  void tenIidSitesReachPlainFedAvgsAccuracyWithinAFifthOfAPoint() {
    ModelSpec spec = ModelSpec.baseline();
    List<int[]> parts = new Partitioning.Iid().split(MNIST.train().labels(), 10, 10, 7);
    try (TfWorkers workers = TfWorkers.create(spec, 2, 1)) {
      List<TfClient> clients = TfClient.simulate(workers, MNIST.train(), parts, 0);
      SimulatedIdentities ids = new SimulatedIdentities();
      Transport secure =
          InProcessTransport.ofRuntimes(
              clients.stream()
                  .map(
                      c ->
                          ClientRuntime.of(c)
                              .withStages(SecAggSite.of(ids.of(c.id()), ids.verifier())))
                  .toList());

      List<RoundResult> plain =
          run(spec, workers, new InProcessTransport(clients), Optional.empty());
      List<RoundResult> masked =
          run(
              spec,
              workers,
              secure,
              Optional.of(SecureAggregation.of(SecAggConfig.defaults(), ids.verifier())));

      double a = plain.get(4).test().orElseThrow().accuracy();
      double b = masked.get(4).test().orElseThrow().accuracy();
      System.out.printf(
          "5 rounds, 10 IID sites: plain FedAvg %.4f, secure aggregation %.4f%n", a, b);
      assertThat(masked).allMatch(r -> r.succeeded() == 10 && r.abandoned().isEmpty());
      assertThat(a).isGreaterThan(0.97);
      assertThat(Math.abs(a - b)).isLessThanOrEqualTo(0.002);
    }
  }

  private static List<RoundResult> run(
      ModelSpec spec, TfWorkers workers, Transport transport, Optional<SecureAggregation> secure) {
    Federation.Builder b =
        Federation.builder(spec, transport)
            .strategy(StandardStrategy.builder().seed(11).build())
            .evaluator(w -> workers.evaluate(w, MNIST.test()))
            .parallelism(2)
            .rounds(5);
    secure.ifPresent(b::fitProtocol);
    return b.build().run().rounds();
  }
}
