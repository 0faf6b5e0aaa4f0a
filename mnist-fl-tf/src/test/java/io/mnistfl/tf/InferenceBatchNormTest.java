package io.mnistfl.tf;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.nn.FusedBatchNorm;
import org.tensorflow.types.TFloat32;

/** Inference batch norm as a product and a sum computes what TensorFlow's fused op does. */
class InferenceBatchNormTest {

  @Test
  void matchesFusedBatchNormOverMovingStatistics() {
    Random random = new Random(3);
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Operand<TFloat32> x = constant(tf, random, 0, 4, 5, 6, 7);
      Operand<TFloat32> gamma = constant(tf, random, 0, 7);
      Operand<TFloat32> beta = constant(tf, random, 0, 7);
      Operand<TFloat32> mean = constant(tf, random, 0, 7);
      Operand<TFloat32> variance = constant(tf, random, 0.1f, 7);
      Operand<TFloat32> expected =
          tf.nn
              .fusedBatchNorm(
                  x,
                  gamma,
                  beta,
                  mean,
                  variance,
                  FusedBatchNorm.epsilon(1e-3f),
                  FusedBatchNorm.isTraining(false))
              .y();
      Operand<TFloat32> actual =
          Network.inferenceBatchNorm(tf, x, gamma, beta, mean, variance, 1e-3f);
      try (Result r = session.runner().fetch(expected).fetch(actual).run()) {
        float[] want = values((TFloat32) r.get(0));
        float[] got = values((TFloat32) r.get(1));
        assertThat(r.get(1).shape()).isEqualTo(r.get(0).shape());
        for (int i = 0; i < want.length; i++) {
          assertThat(got[i]).as("element %d", i).isCloseTo(want[i], Offset.offset(1e-4f));
        }
      }
    }
  }

  /** Gaussian values, or with {@code floor > 0} their squares plus {@code floor} (a variance). */
  private static Operand<TFloat32> constant(Ops tf, Random random, float floor, long... shape) {
    float[] v = new float[(int) Shape.of(shape).size()];
    for (int i = 0; i < v.length; i++) {
      double g = random.nextGaussian();
      v[i] = floor > 0 ? (float) (g * g + floor) : (float) g;
    }
    return tf.constant(Shape.of(shape), DataBuffers.of(v, true, false));
  }

  private static float[] values(TFloat32 t) {
    float[] out = new float[(int) t.size()];
    t.copyTo(DataBuffers.of(out, false, false));
    return out;
  }
}
