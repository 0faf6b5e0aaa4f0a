package io.mnistfl.tf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.data.DataSource;
import io.mnistfl.data.InvalidExampleException;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.train.LocalTraining;
import io.mnistfl.train.TrainingListener;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntUnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * A host application's bad data source fails early, naming the source, the example and the value,
 * as a library exception: not deep in TensorFlow, and never by training silently to NaN weights.
 */
class HostInputTest {
  private static final DataSource NONE = MnistFixture.mnist().test().subset(new int[0]);
  private static final int BAD = 37;

  /**
   * 64 MNIST examples, of which example {@value #BAD} is broken by {@code pixel} or {@code
   * relabel}.
   */
  private record Broken(String name, PixelFault pixel, IntUnaryOperator relabel)
      implements DataSource {
    @Override
    public int size() {
      return 64;
    }

    @Override
    public int height() {
      return 28;
    }

    @Override
    public int width() {
      return 28;
    }

    @Override
    public int numClasses() {
      return 10;
    }

    @Override
    public int label(int index) {
      int label = MnistFixture.mnist().train().label(index);
      return index == BAD ? relabel.applyAsInt(label) : label;
    }

    @Override
    public void copyImage(int index, float[] dst, int offset) {
      MnistFixture.mnist().train().copyImage(index, dst, offset);
      if (index == BAD) {
        pixel.apply(dst, offset);
      }
    }
  }

  private interface PixelFault {
    void apply(float[] dst, int offset);
  }

  private static final PixelFault NO_FAULT = (dst, offset) -> {};

  private static void fitsThenFails(DataSource data, String message) {
    try (TfModel model = TfModel.create(ModelSpec.baseline())) {
      LocalTraining one = LocalTraining.of(model.spec()).withEpochs(1).withBatchSize(16);
      assertThatThrownBy(() -> model.fit(data, NONE, one, TrainingListener.NONE))
          .isInstanceOf(InvalidExampleException.class)
          .hasMessage(message);
      assertThatThrownBy(() -> model.evaluate(data))
          .isInstanceOf(InvalidExampleException.class)
          .hasMessage(message);
      // The model is still usable, its weights untouched by the bad batch.
      assertThat(model.evaluate(MnistFixture.mnist().test().subset(new int[] {0, 1})).loss())
          .isFinite();
    }
  }

  @Test
  void aLabelOutsideTheClassesIsNamedBeforeTensorFlowSeesIt() {
    fitsThenFails(
        new Broken("labels", NO_FAULT, l -> 11),
        "labels, example 37: label 11 is outside 0..9, the model's classes");
  }

  @Test
  void aNanPixelIsNamedInsteadOfTrainingToNanWeights() {
    fitsThenFails(
        new Broken("nan", (dst, offset) -> dst[offset + 100] = Float.NaN, l -> l),
        "nan, example 37: pixel 100 (row 3, column 16) is NaN: not a number, or not written by"
            + " copyImage");
  }

  @Test
  void pixelsOnAByteScaleAreNamedWithAHint() {
    fitsThenFails(
        new Broken(
            "bytes",
            (dst, offset) -> {
              for (int p = 0; p < 784; p++) {
                dst[offset + p] *= 255f;
              }
            },
            l -> l),
        "bytes, example 37: pixel 127 (row 4, column 15) is 73.0, pixels must be in [0, 1]"
            + " (divide by 255?)");
  }

  @Test
  void aCopyImagePastItsSlotIsNamed() {
    fitsThenFails(
        new Broken("overrun", (dst, offset) -> dst[offset + 784] = 0.5f, l -> l),
        "overrun, example 37: copyImage wrote outside the image's 784 pixels (Index 784 out of"
            + " bounds for length 784)");
  }

  /** Creates a model while {@code failure} is thrown after its session opens; returns it. */
  private static Throwable createFailing(Throwable failure) throws Exception {
    ModelGraph.afterSessionOpens =
        () -> {
          if (failure instanceof Error e) {
            throw e;
          }
          throw (RuntimeException) failure;
        };
    try {
      CompletableFuture<Throwable> created =
          CompletableFuture.supplyAsync(
              () -> {
                try (TfModel model = TfModel.create(ModelSpec.baseline())) {
                  return null;
                } catch (Throwable t) {
                  return t;
                }
              });
      // Closing the graph while its session is open waits forever: this would time out.
      return created.get(60, TimeUnit.SECONDS);
    } finally {
      ModelGraph.afterSessionOpens = () -> {};
    }
  }

  @Test
  void aModelWhoseSessionFailsToInitializeFailsInsteadOfHanging() throws Exception {
    assertThat(createFailing(new IllegalStateException("injected: session failed")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("injected: session failed");
    assertThat(createFailing(new OutOfMemoryError("injected: TensorFlow ran out of memory")))
        .isInstanceOf(OutOfMemoryError.class)
        .hasMessageContaining("injected");
    try (TfModel model = TfModel.create(ModelSpec.baseline())) {
      assertThat(model.weights()).isEqualTo(ModelSpec.baseline().initialWeights());
    }
  }
}
