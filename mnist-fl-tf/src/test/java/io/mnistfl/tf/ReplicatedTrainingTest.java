package io.mnistfl.tf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.data.DataSource;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import io.mnistfl.train.LocalTraining;
import io.mnistfl.train.TrainingListener;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Splitting each training batch across replicas computes the same step as one pass. */
class ReplicatedTrainingTest {
  private static final DataSource NONE = MnistFixture.mnist().test().subset(new int[0]);

  private static Weights train(TfOptions options, int examples) {
    DataSource data = MnistFixture.mnist().train().subset(IntStream.range(0, examples).toArray());
    try (TfModel model = TfModel.create(ModelSpec.baseline(), options)) {
      model.fit(
          data,
          NONE,
          LocalTraining.of(model.spec()).withEpochs(1).withSeed(3),
          TrainingListener.NONE);
      return model.weights();
    }
  }

  private static Weights initialWeights() {
    try (TfModel model = TfModel.create(ModelSpec.baseline())) {
      return model.weights();
    }
  }

  /** The largest difference between two weight sets, relative to the largest weight. */
  private static double relativeDifference(Weights a, Weights b) {
    double diff = 0;
    double scale = 0;
    for (int i = 0; i < a.arrays().size(); i++) {
      float[] x = a.arrays().get(i).values();
      float[] y = b.arrays().get(i).values();
      for (int j = 0; j < x.length; j++) {
        diff = Math.max(diff, Math.abs(x[j] - y[j]));
        scale = Math.max(scale, Math.abs(x[j]));
      }
    }
    return diff / scale;
  }

  @Test
  void oneReplicatedStepIsOnePassStep() {
    // One batch of 30: two parts of 15, or three of 10.
    Weights start = initialWeights();
    Weights one = train(new TfOptions(2, 1), 30);
    Weights two = train(new TfOptions(2, 2), 30);
    Weights three = train(new TfOptions(2, 3), 30);
    assertThat(relativeDifference(start, one)).isGreaterThan(1e-3);
    assertThat(relativeDifference(one, two)).isLessThan(1e-6);
    assertThat(relativeDifference(one, three)).isLessThan(1e-6);
  }

  @Test
  void replicasTrainTheWeightsOnePassTrains() {
    Weights start = initialWeights();
    Weights one = train(new TfOptions(2, 1), 640);
    Weights two = train(new TfOptions(2, 2), 640);
    // 20 steps apart only by float rounding, compounded: far below how far training moved them.
    assertThat(relativeDifference(start, one)).isGreaterThan(0.05);
    assertThat(relativeDifference(one, two)).isLessThan(2e-4);
  }

  @Test
  void aBatchThatDoesNotSplitEvenlyTrainsInOnePass() {
    // 33 examples in batches of 32: the last batch has one example for two replicas.
    Weights one = train(new TfOptions(2, 1), 33);
    Weights two = train(new TfOptions(2, 2), 33);
    assertThat(relativeDifference(one, two)).isLessThan(1e-5);
  }

  @Test
  void replicatedTrainingIsReproducible() {
    assertThat(train(new TfOptions(2, 2), 640)).isEqualTo(train(new TfOptions(2, 2), 640));
  }

  @Test
  void batchNormModelsTrainInOnePass() {
    try (ModelGraph graph = new ModelGraph(ModelSpec.regularized(), new TfOptions(2, 2));
        ModelGraph plain = new ModelGraph(ModelSpec.baseline(), new TfOptions(2, 2))) {
      assertThat(graph.replicas()).isEqualTo(1);
      assertThat(graph.replicatedHead).isEmpty();
      assertThat(plain.replicas()).isEqualTo(2);
      assertThat(plain.head(2).replicas()).isEqualTo(2);
      assertThat(plain.head(1).replicas()).isEqualTo(1);
      assertThat(plain.head(33).replicas()).isEqualTo(1);
    }
  }

  @Test
  void largeDenseKernelsAreHeldInOneBlockPerReplica() {
    Weights weights = ModelSpec.baseline().initialWeights();
    try (ModelGraph graph = new ModelGraph(ModelSpec.baseline(), new TfOptions(2, 3));
        TfModel model = TfModel.create(ModelSpec.baseline(), new TfOptions(2, 3))) {
      // conv kernel, conv bias, dense 5408x100 kernel (1803 + 1803 + 1802 rows), ...
      assertThat(graph.stored.get(2).shards())
          .extracting(v -> v.shape().get(0))
          .containsExactly(1803L, 1803L, 1802L);
      assertThat(graph.stored.get(4).shards()).hasSize(1);
      model.setWeights(weights);
      assertThat(model.weights()).isEqualTo(weights);
    }
  }

  @Test
  void optionsRejectNonPositiveCounts() {
    assertThatThrownBy(() -> new TfOptions(0, 1)).hasMessage("threads must be >= 1, was 0");
    assertThatThrownBy(() -> new TfOptions(2, -1)).hasMessage("replicas must be >= 1, was -1");
    assertThat(TfOptions.threads(1)).isEqualTo(new TfOptions(1, 1));
    assertThat(TfOptions.threads(8)).isEqualTo(new TfOptions(8, 2));
  }
}
