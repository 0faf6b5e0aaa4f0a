package io.mnistfl.tf;

import static org.assertj.core.api.Assertions.assertThat;

import io.mnistfl.data.DataSource;
import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.server.Federation;
import io.mnistfl.fl.server.StandardStrategy;
import io.mnistfl.fl.sim.InProcessTransport;
import io.mnistfl.fl.sim.Partitioning;
import io.mnistfl.model.Initializer;
import io.mnistfl.model.Layer;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import io.mnistfl.train.LocalTraining;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Simulated sites on K model workers: the same global weights for any K. */
class TfWorkersTest {
  private static final DataSource POOL =
      MnistFixture.mnist().train().subset(IntStream.range(0, 3_000).toArray());

  /** A small net with every stateful part: batch norm, dropout and momentum. */
  private static final ModelSpec SPEC =
      ModelSpec.builder()
          .name("small")
          .conv(8, 3, Layer.Padding.VALID)
          .batchNorm()
          .relu()
          .maxPool(2)
          .dropout(0.25)
          .flatten()
          .dense(32)
          .relu()
          .dropout(0.3)
          .logits(Initializer.GLOROT_UNIFORM)
          .batchSize(20)
          .build();

  private static Weights federate(int workers) {
    List<int[]> parts = new Partitioning.Iid().split(POOL.labels(), 10, 6, 3);
    try (TfWorkers pool = TfWorkers.create(SPEC, workers, 1);
        InProcessTransport sites =
            new InProcessTransport(TfClient.simulate(pool, POOL, parts, 0.1))) {
      FederationHistory h =
          Federation.builder(SPEC, sites)
              .strategy(
                  StandardStrategy.builder()
                      .localTraining(LocalTraining.of(SPEC).withEpochs(2))
                      .federatedEvaluation(true)
                      .build())
              .parallelism(workers)
              .rounds(2)
              .build()
              .run();
      assertThat(h.rounds()).allSatisfy(r -> assertThat(r.failures()).isEmpty());
      assertThat(h.rounds().get(1).federated().orElseThrow().accuracy()).isGreaterThan(0.6);
      return h.finalWeights();
    }
  }

  @Test
  void oneWorkerAndTwoGiveBitIdenticalGlobalWeights() {
    // One thread per worker in both: TensorFlow's kernels split their sums by thread, so the
    // bits are only comparable at equal threads per session.
    Weights one = federate(1);
    Weights two = federate(2);
    assertThat(two).isEqualTo(one);
  }

  @Test
  void theSuggestedCountFollowsTheModel() {
    assertThat(TfWorkers.suggested(ModelSpec.mcmahanCnn(), 2)).isEqualTo(2);
    assertThat(TfWorkers.suggested(ModelSpec.baseline(), 4)).isEqualTo(4);
    assertThat(TfWorkers.suggested(ModelSpec.regularized(), 2)).isEqualTo(1);
    assertThat(TfWorkers.suggested(ModelSpec.regularized(), 1)).isEqualTo(1);
  }
}
