package io.mnistfl.tf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.data.DataSource;
import io.mnistfl.model.ModelSpec;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The step profile reports what a McMahan training step really runs. */
class StepProfileTest {
  private static final DataSource FEW =
      MnistFixture.mnist().train().subset(IntStream.range(0, 40).toArray());

  @Test
  void mcmahanStepRunsTheHandBuiltConvolutionAndNoOneDnnInputGradient() {
    try (TfModel model = TfModel.create(ModelSpec.mcmahanCnn(), TfOptions.threads(1))) {
      StepProfile p = StepProfile.measure(model, FEW, 5);
      assertThat(p.batchSize()).isEqualTo(10);
      assertThat(p.wallMillis()).isPositive();
      assertThat(p.opMillis()).isPositive();
      assertThat(p.ops()).extracting(StepProfile.OpTime::type).contains("Conv");
      assertThat(p.ops())
          .extracting(StepProfile.OpTime::type)
          .noneMatch(t -> t.contains("Conv2DBackpropInput"));
      // Forward and input gradient of the second convolution: two Conv ops a step.
      assertThat(p.ops())
          .filteredOn(op -> op.type().equals("Conv"))
          .singleElement()
          .satisfies(op -> assertThat(op.count()).isEqualTo(2.0));
      double sum = p.ops().stream().mapToDouble(StepProfile.OpTime::millis).sum();
      assertThat(sum).isCloseTo(p.opMillis(), org.assertj.core.data.Offset.offset(1e-9));
      assertThat(p.ops().get(0).millis()).isGreaterThanOrEqualTo(p.ops().get(1).millis());
    }
  }

  @Test
  void refusesNoStepsAndNoData() {
    try (TfModel model = TfModel.create(ModelSpec.baseline(), TfOptions.threads(1))) {
      assertThatThrownBy(() -> StepProfile.measure(model, FEW, 0))
          .hasMessageContaining("steps must be >= 1");
      assertThatThrownBy(() -> StepProfile.measure(model, FEW.subset(new int[0]), 3))
          .hasMessageContaining("is empty");
    }
  }
}
