package io.mnistfl.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.model.Layer.Padding;
import io.mnistfl.train.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelSpecTest {

  @Test
  void baselineHasThePapersShapes() {
    ModelSpec spec = ModelSpec.baseline();
    // conv 3·3·1·32 + 32, dense 13·13·32·100 + 100, dense 100·10 + 10
    assertThat(spec.trainableParameterCount()).isEqualTo(320 + 540_900 + 1_010);
    assertThat(spec.parameters())
        .extracting(ParameterShape::name)
        .containsExactly(
            "conv2d_0/kernel",
            "conv2d_0/bias",
            "dense_4/kernel",
            "dense_4/bias",
            "dense_6/kernel",
            "dense_6/bias");
    assertThat(spec.optimizer()).isEqualTo(new OptimizerSpec.Sgd(0.01, 0.9, false));
  }

  @Test
  void mcmahanCnnHasTheParameterCountOfThePaper() {
    assertThat(ModelSpec.mcmahanCnn().trainableParameterCount()).isEqualTo(1_663_370);
  }

  @Test
  void regularizedHasBatchNormStatisticsThatAreNotTrained() {
    ModelSpec spec = ModelSpec.regularized();
    assertThat(spec.parameters())
        .filteredOn(p -> !p.trainable())
        .isNotEmpty()
        .allMatch(p -> p.name().contains("moving_"));
    assertThat(spec.augmentation().isIdentity()).isFalse();
  }

  @Test
  void rejectsDenseWithoutFlatten() {
    assertThatThrownBy(() -> ModelSpec.builder().conv(8, 3, Padding.VALID).dense(10).build())
        .hasMessageContaining("layer 1")
        .hasMessageContaining("needs Flatten before it");
  }

  @Test
  void rejectsKernelLargerThanInput() {
    assertThatThrownBy(
            () ->
                ModelSpec.builder()
                    .input(4, 4)
                    .conv(8, 5, Padding.VALID)
                    .flatten()
                    .logits(Initializer.GLOROT_UNIFORM)
                    .build())
        .hasMessageContaining("kernel 5 is larger than its input 4x4");
  }

  @Test
  void rejectsWrongOutputLayer() {
    assertThatThrownBy(() -> ModelSpec.builder().flatten().dense(7).build())
        .hasMessageContaining("the last layer must be Dense with 10 units");
  }

  @Test
  void rejectsImpossibleRatesAndSizes() {
    assertThatThrownBy(() -> ModelSpec.builder().flatten().dropout(1.0).dense(10).build())
        .hasMessageContaining("dropout rate must be in [0, 1), was 1.0");
    assertThatThrownBy(() -> ModelSpec.baseline().toBuilder().batchSize(0).build())
        .hasMessageContaining("batchSize must be >= 1, was 0");
    assertThatThrownBy(() -> new OptimizerSpec.Sgd(-1, 0.9, false))
        .hasMessageContaining("learningRate must be > 0, was -1.0");
    assertThatThrownBy(() -> ModelSpec.preset("resnet"))
        .hasMessageContaining("unknown model preset 'resnet'");
  }

  @Test
  void initialWeightsAreSeededAndWithinTheHeLimit() {
    Weights a = ModelSpec.baseline().initialWeights();
    Weights b = ModelSpec.baseline().initialWeights();
    Weights c = ModelSpec.baseline().withSeed(43).initialWeights();
    assertThat(a).isEqualTo(b);
    assertThat(a).isNotEqualTo(c);
    float[] kernel = a.get("dense_4/kernel").orElseThrow().values();
    double limit = Math.sqrt(6.0 / 5408);
    int negative = 0;
    for (float v : kernel) {
      assertThat(Math.abs(v)).isLessThanOrEqualTo((float) limit);
      negative += v < 0 ? 1 : 0;
    }
    // Uniform in [-limit, limit): about half negative (framework 1.0.0 got this wrong).
    assertThat(negative / (double) kernel.length).isBetween(0.49, 0.51);
    assertThat(a.get("dense_4/bias").orElseThrow().values()).containsOnly(0f);
  }

  @Test
  void specSurvivesJson(@TempDir Path dir) throws Exception {
    ModelSpec spec = ModelSpec.regularized().withSeed(7);
    Path file = dir.resolve("spec.json");
    Json.write(file, spec);
    assertThat(Files.readString(file)).contains("\"type\" : \"batchnorm\"");
    assertThat(Json.read(file, ModelSpec.class)).isEqualTo(spec);
  }

  @Test
  void aSpecTooLargeForIntsOrTheCapIsRefusedWithItsCountNotOverflowed() {
    // 13·13·32 features × 3,000,000 units: 16.2 billion, which an int count wrapped to negative.
    assertThatThrownBy(
            () ->
                ModelSpec.builder()
                    .conv(32, 3, Padding.VALID)
                    .maxPool(2)
                    .flatten()
                    .dense(3_000_000)
                    .logits(Initializer.GLOROT_UNIFORM)
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("invalid ModelSpec: layer 3 (")
        .hasMessageContaining("holds more than 200000000 values, the most a model may have");
    // Each variable below the cap, together above it.
    assertThatThrownBy(
            () ->
                ModelSpec.builder()
                    .input(100, 100)
                    .flatten()
                    .dense(12_000)
                    .dense(12_000)
                    .logits(Initializer.GLOROT_UNIFORM)
                    .build())
        .hasMessage(
            "invalid ModelSpec: the layers hold 264144010 parameters, more than the 200000000 a"
                + " model may have");
    assertThatThrownBy(
            () ->
                ModelSpec.builder()
                    .input(65_536, 65_536)
                    .conv(64, 3, Padding.SAME)
                    .flatten()
                    .logits(Initializer.GLOROT_UNIFORM)
                    .build())
        .hasMessageContaining("flattening 65536x65536x64 gives 274877906944 features");
  }
}
