package io.mnistfl.tf;

import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Ops;
import org.tensorflow.op.nn.Conv;
import org.tensorflow.types.TFloat32;

/**
 * A stride-1 convolution over a feature map, with its backward pass written out rather than left to
 * TensorFlow's registered gradient. The forward pass and the input's gradient run TensorFlow's
 * generic {@code Conv} op, which oneDNN does not rewrite: for McMahan's second convolution (batch
 * 10, 14×14, 32 → 64 channels, 5×5) on one thread it took 1.45 ms forward and 1.47 ms for the input
 * gradient, against 2.0 ms and 3.2 ms for oneDNN's {@code Conv2D} and {@code Conv2DBackpropInput}.
 * The kernel's gradient stays oneDNN's {@code Conv2DBackpropFilter} (1.2 ms), the fastest measured.
 *
 * <p>With {@code z = x ⋆ W} (cross-correlation, padding {@code p_top, p_left}), the input's
 * gradient is the full cross-correlation of {@code ∂z} with {@code W} flipped in space and with its
 * channel axes swapped: {@code ∂x = pad(∂z) ⋆ W'}, {@code W'[i,j,o,c] = W[kh−1−i, kw−1−j, c, o]},
 * padded by {@code kh−1−p_top} above and {@code kh−1−p_bottom} below (and likewise across).
 */
final class FeatureConv {
  private static final List<Long> UNIT_STRIDES = List.of(1L, 1L, 1L, 1L);

  private FeatureConv() {}

  /** {@code x ⋆ kernel} without bias; {@code padding} is {@code SAME} or {@code VALID}. */
  static Operand<TFloat32> forward(
      Ops tf, Operand<TFloat32> x, Operand<TFloat32> kernel, String padding) {
    return Conv.create(tf.scope(), x, kernel, UNIT_STRIDES, padding);
  }

  /** {@code W'}: {@code kernel} flipped in space with its channel axes swapped, once per step. */
  static Operand<TFloat32> flipped(Ops tf, Operand<TFloat32> kernel) {
    return tf.linalg.transpose(
        tf.reverse(kernel, tf.constant(new int[] {0, 1})), tf.constant(new int[] {0, 1, 3, 2}));
  }

  /**
   * {@code ∂loss/∂x} from {@code ∂loss/∂z} for {@code z = forward(x, kernel, padding)}.
   *
   * @param flipped {@link #flipped} of the forward pass's kernel
   */
  static Operand<TFloat32> inputGradient(
      Ops tf, Operand<TFloat32> outputGradient, Operand<TFloat32> flipped, String padding) {
    long[] k = flipped.shape().asArray(); // [height, width, filters, in channels]
    long[] pads = new long[8];
    for (int axis = 0; axis < 2; axis++) {
      long before = padding.equals("SAME") ? (k[axis] - 1) / 2 : 0;
      long after = padding.equals("SAME") ? k[axis] / 2 : 0;
      pads[2 + 2 * axis] = k[axis] - 1 - before;
      pads[3 + 2 * axis] = k[axis] - 1 - after;
    }
    return Conv.create(
        tf.scope(),
        outputGradient,
        flipped,
        UNIT_STRIDES,
        "EXPLICIT",
        Conv.explicitPaddings(java.util.Arrays.stream(pads).boxed().toList()));
  }

  /** {@code ∂loss/∂kernel} from the input and {@code ∂loss/∂z}. */
  static Operand<TFloat32> kernelGradient(
      Ops tf,
      Operand<TFloat32> x,
      Operand<TFloat32> outputGradient,
      Operand<TFloat32> kernel,
      String padding) {
    long[] k = kernel.shape().asArray();
    return tf.nn.conv2dBackpropFilter(
        x,
        tf.constant(new int[] {(int) k[0], (int) k[1], (int) k[2], (int) k[3]}),
        outputGradient,
        UNIT_STRIDES,
        padding);
  }
}
