package io.mnistfl.tf;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/** The im2col convolution of the input layer computes what TensorFlow's own convolution does. */
class PatchConvolutionTest {

  @ParameterizedTest
  @CsvSource({"3, VALID", "3, SAME", "5, SAME", "5, VALID", "4, SAME"})
  void matchesConv2dAndItsKernelGradient(int size, String padding) {
    Random random = new Random(size * 31L + padding.length());
    float[] images = randoms(random, 3 * 9 * 8);
    float[] kernel = randoms(random, size * size * 4);
    float[] bias = randoms(random, 4);
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Operand<TFloat32> x = tf.constant(Shape.of(3, 9, 8, 1), DataBuffers.of(images, true, false));
      Variable<TFloat32> k =
          tf.variable(tf.constant(Shape.of(size, size, 1, 4), DataBuffers.of(kernel, true, false)));
      Variable<TFloat32> b =
          tf.variable(tf.constant(Shape.of(4), DataBuffers.of(bias, true, false)));
      Operand<TFloat32> expected =
          tf.nn.biasAdd(tf.nn.conv2d(x, k, List.of(1L, 1L, 1L, 1L), padding), b);
      Operand<TFloat32> actual = Network.patchConv(tf, x, k, b, padding);
      // Weighting the outputs makes the kernel gradients depend on where each output landed.
      Operand<TFloat32> weights =
          tf.math.cos(
              tf.dtypes.cast(
                  tf.range(tf.constant(0), tf.size(expected), tf.constant(1)), TFloat32.class));
      Operand<TFloat32> expectedLoss = weightedSum(tf, expected, weights);
      Operand<TFloat32> actualLoss = weightedSum(tf, actual, weights);
      var expectedGradients =
          graph.addGradients(
              expectedLoss.asOutput(), new org.tensorflow.Output<?>[] {k.asOutput(), b.asOutput()});
      var actualGradients =
          graph.addGradients(
              actualLoss.asOutput(), new org.tensorflow.Output<?>[] {k.asOutput(), b.asOutput()});
      session.initialize();
      try (Result r =
          session
              .runner()
              .fetch(expected)
              .fetch(actual)
              .fetch(expectedGradients[0])
              .fetch(actualGradients[0])
              .fetch(expectedGradients[1])
              .fetch(actualGradients[1])
              .run()) {
        assertThat(r.get(1).shape()).isEqualTo(r.get(0).shape());
        for (int i = 0; i < 6; i += 2) {
          float[] want = values((TFloat32) r.get(i));
          float[] got = values((TFloat32) r.get(i + 1));
          assertThat(got).hasSameSizeAs(want);
          for (int j = 0; j < want.length; j++) {
            assertThat(got[j])
                .as("output %d element %d", i, j)
                .isCloseTo(want[j], org.assertj.core.data.Offset.offset(1e-4f));
          }
        }
      }
    }
  }

  @Test
  void samePaddingKeepsTheImageSize() {
    try (Graph graph = new Graph()) {
      Ops tf = Ops.create(graph);
      Operand<TFloat32> x =
          tf.placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, 28, 28, 1)));
      Variable<TFloat32> k =
          tf.variable(tf.zeros(tf.constant(new long[] {5, 5, 1, 32}), TFloat32.class));
      Variable<TFloat32> b = tf.variable(tf.zeros(tf.constant(new long[] {32}), TFloat32.class));
      assertThat(Network.patchConv(tf, x, k, b, "SAME").shape().asArray())
          .containsExactly(-1, 28, 28, 32);
      assertThat(Network.patchConv(tf, x, k, b, "VALID").shape().asArray())
          .containsExactly(-1, 24, 24, 32);
    }
  }

  private static Operand<TFloat32> weightedSum(
      Ops tf, Operand<TFloat32> y, Operand<TFloat32> weights) {
    return tf.sum(tf.math.mul(tf.reshape(y, tf.constant(new int[] {-1})), weights), tf.constant(0));
  }

  private static float[] randoms(Random random, int n) {
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) random.nextGaussian();
    }
    return out;
  }

  private static float[] values(TFloat32 t) {
    float[] out = new float[(int) t.size()];
    t.copyTo(DataBuffers.of(out, false, false));
    return out;
  }
}
