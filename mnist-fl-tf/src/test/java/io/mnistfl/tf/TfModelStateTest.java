package io.mnistfl.tf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.data.DataSource;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.Initializer;
import io.mnistfl.model.Layer;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import io.mnistfl.train.LocalTraining;
import io.mnistfl.train.Provenance;
import io.mnistfl.train.TrainingListener;
import io.mnistfl.train.TrainingRecord;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Weights in and out, save and load, determinism, the regularized graph and FedProx. */
class TfModelStateTest {
  private static final DataSource NONE = MnistFixture.mnist().test().subset(new int[0]);

  private static DataSource trainSlice(int n) {
    return MnistFixture.mnist().train().subset(IntStream.range(0, n).toArray());
  }

  private static DataSource testSlice(int n) {
    return MnistFixture.mnist().test().subset(IntStream.range(0, n).toArray());
  }

  private static float[] pixels(DataSource data) {
    float[] out = new float[data.size() * data.imageSize()];
    for (int i = 0; i < data.size(); i++) {
      data.copyImage(i, out, i * data.imageSize());
    }
    return out;
  }

  @Test
  void weightsRoundTripBitExactlyAndCarryTheModel() {
    try (TfModel a = TfModel.create(ModelSpec.baseline());
        TfModel b = TfModel.create(ModelSpec.baseline().withSeed(99))) {
      a.fit(trainSlice(640), NONE, LocalTraining.of(a.spec()).withEpochs(1), TrainingListener.NONE);
      Weights trained = a.weights();
      assertThat(trained).isNotEqualTo(ModelSpec.baseline().initialWeights());
      a.setWeights(trained);
      assertThat(a.weights()).isEqualTo(trained);

      b.setWeights(trained);
      assertThat(b.weights()).isEqualTo(trained);
      float[] images = pixels(testSlice(200));
      assertThat(b.predict(images, 200)).containsExactly(a.predict(images, 200));
    }
  }

  @Test
  void wrongWeightsAreRejectedNamingTheArray() {
    try (TfModel model = TfModel.create(ModelSpec.baseline())) {
      Weights narrower =
          ModelSpec.builder()
              .conv(16, 3, Layer.Padding.VALID)
              .relu()
              .maxPool(2)
              .flatten()
              .dense(100)
              .relu()
              .logits(Initializer.GLOROT_UNIFORM)
              .build()
              .initialWeights();
      assertThatThrownBy(() -> model.setWeights(narrower))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("weight array 0 is conv2d_0/kernel[3, 3, 1, 16]")
          .hasMessageContaining("expects conv2d_0/kernel[3, 3, 1, 32]");
      assertThatThrownBy(() -> model.setWeights(ModelSpec.mcmahanCnn().initialWeights()))
          .hasMessage("weights have 8 arrays, model baseline has 6");
    }
  }

  @Test
  void savedModelLoadsIntoAFreshGraphWithIdenticalPredictions(@TempDir Path dir) throws Exception {
    float[] images = pixels(testSlice(300));
    float[] expected;
    try (TfModel model = TfModel.create(ModelSpec.regularized())) {
      model.fit(
          trainSlice(1024),
          NONE,
          LocalTraining.of(model.spec()).withEpochs(1),
          TrainingListener.NONE);
      expected = model.predict(images, 300);
      Metrics m = model.evaluate(testSlice(300));
      model.save(
          dir,
          new TrainingRecord(
              Provenance.builder(model.spec())
                  .data("mnist/train", 1024)
                  .backend(TfModel.BACKEND)
                  .build(),
              List.of(),
              Optional.of(m),
              1.0));
    }
    try (TfModel loaded = TfModel.load(dir)) {
      assertThat(loaded.spec()).isEqualTo(ModelSpec.regularized());
      assertThat(loaded.predict(images, 300)).containsExactly(expected);
    }
  }

  @Test
  void loadingSomethingElseSaysWhatIsMissing(@TempDir Path dir) {
    assertThatThrownBy(() -> TfModel.load(dir))
        .hasMessageContaining(dir + " is not a saved model: spec.json is missing");
  }

  @Test
  void sameSeedSameWeights() {
    List<Weights> runs = new ArrayList<>();
    for (int run = 0; run < 2; run++) {
      try (TfModel model = TfModel.create(ModelSpec.regularized())) {
        model.fit(
            trainSlice(640),
            NONE,
            LocalTraining.of(model.spec()).withEpochs(1).withSeed(5),
            TrainingListener.NONE);
        runs.add(model.weights());
      }
    }
    assertThat(runs.get(1)).isEqualTo(runs.get(0));
  }

  @Test
  void batchNormMovingStatisticsAreLearnedAndUsedForInference() {
    try (TfModel model = TfModel.create(ModelSpec.regularized())) {
      Weights before = model.weights();
      // 160 steps: enough for momentum-0.99 moving averages to forget their initial 0 / 1.
      model.fit(
          trainSlice(2560),
          NONE,
          LocalTraining.of(model.spec()).withEpochs(4),
          TrainingListener.NONE);
      Weights after = model.weights();
      String mean = "batchnorm_1/moving_mean";
      assertThat(after.get(mean).orElseThrow()).isNotEqualTo(before.get(mean).orElseThrow());
      // Inference is deterministic (no dropout, moving statistics): predictions repeat exactly.
      float[] images = pixels(testSlice(100));
      assertThat(model.predict(images, 100)).containsExactly(model.predict(images, 100));
      assertThat(model.evaluate(testSlice(1000)).accuracy()).isGreaterThan(0.85);
    }
  }

  @Test
  void proximalTermKeepsWeightsNearTheStart() {
    double plain = drift(0);
    double proximal = drift(5.0);
    assertThat(proximal).isLessThan(plain * 0.7);
  }

  private static double drift(double mu) {
    try (TfModel model = TfModel.create(ModelSpec.baseline())) {
      Weights start = model.weights();
      model.fit(
          trainSlice(960),
          NONE,
          LocalTraining.of(model.spec()).withEpochs(1).withProximalMu(mu),
          TrainingListener.NONE);
      float[] a = start.get("dense_4/kernel").orElseThrow().values();
      float[] b = model.weights().get("dense_4/kernel").orElseThrow().values();
      double d = 0;
      for (int i = 0; i < a.length; i++) {
        d += (a[i] - b[i]) * (a[i] - b[i]);
      }
      return Math.sqrt(d);
    }
  }

  @Test
  void closedModelRefusesWork() {
    TfModel model = TfModel.create(ModelSpec.baseline());
    model.close();
    model.close();
    assertThatThrownBy(model::weights).hasMessageContaining("model baseline is closed");
  }
}
