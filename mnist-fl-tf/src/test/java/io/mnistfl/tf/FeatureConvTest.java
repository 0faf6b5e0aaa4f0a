package io.mnistfl.tf;

import static org.assertj.core.api.Assertions.assertThat;

import io.mnistfl.model.ParameterShape;
import io.mnistfl.model.ParameterShape.Role;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * The hand-built convolution and the staged backward pass compute what TensorFlow's {@code Conv2D}
 * and its registered gradients do.
 */
class FeatureConvTest {
  private static final List<Long> UNIT = List.of(1L, 1L, 1L, 1L);

  @ParameterizedTest
  @CsvSource({"3, SAME", "5, SAME", "4, SAME", "3, VALID", "2, VALID", "1, SAME"})
  void matchesConv2dAndBothItsGradients(int size, String padding) {
    Random random = new Random(size * 17L + padding.length());
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      Variable<TFloat32> x = variable(tf, random, 3, 9, 7, 5);
      Variable<TFloat32> k = variable(tf, random, size, size, 5, 6);
      Operand<TFloat32> expected = tf.nn.conv2d(x, k, UNIT, padding);
      Operand<TFloat32> actual = FeatureConv.forward(tf, x, k, padding);
      Operand<TFloat32> seed = cosines(tf, expected);
      Output<?>[] want =
          graph.addGradients(
              null,
              new Output<?>[] {expected.asOutput()},
              new Output<?>[] {x.asOutput(), k.asOutput()},
              new Output<?>[] {seed.asOutput()});
      session.initialize();
      List<Operand<TFloat32>> fetched =
          List.of(
              expected,
              actual,
              cast(want[0]),
              FeatureConv.inputGradient(tf, seed, FeatureConv.flipped(tf, k), padding),
              cast(want[1]),
              FeatureConv.kernelGradient(tf, x, seed, k, padding));
      assertPairsClose(session, fetched, "forward", "input gradient", "kernel gradient");
    }
  }

  @Test
  void stagedGradientsMatchOneBackwardPassOverTwoCutsAndTwoParts() {
    Random random = new Random(7);
    try (Graph graph = new Graph();
        Session session = new Session(graph)) {
      Ops tf = Ops.create(graph);
      List<Variable<TFloat32>> vars =
          List.of(
              variable(tf, random, 3, 3, 2, 4),
              variable(tf, random, 4),
              variable(tf, random, 5, 5, 4, 3),
              variable(tf, random, 3),
              variable(tf, random, 7 * 6 * 3, 10),
              variable(tf, random, 10));
      List<ParameterShape> owners =
          List.of(
              new ParameterShape("c0/kernel", new int[] {3, 3, 2, 4}, 0, Role.KERNEL, 18, 36),
              new ParameterShape("c0/bias", new int[] {4}, 0, Role.BIAS, 0, 0),
              new ParameterShape("c2/kernel", new int[] {5, 5, 4, 3}, 2, Role.KERNEL, 100, 75),
              new ParameterShape("c2/bias", new int[] {3}, 2, Role.BIAS, 0, 0),
              new ParameterShape("d4/kernel", new int[] {126, 10}, 4, Role.KERNEL, 126, 10),
              new ParameterShape("d4/bias", new int[] {10}, 4, Role.BIAS, 0, 0));
      List<Operand<TFloat32>> inputs =
          List.of(variable(tf, random, 2, 7, 6, 2), variable(tf, random, 3, 7, 6, 2));
      List<Operand<TFloat32>> reference = new ArrayList<>();
      List<Operand<TFloat32>> staged = new ArrayList<>();
      List<Network.Cut> cuts = new ArrayList<>();
      List<Operand<TFloat32>> cut0In = new ArrayList<>();
      List<Operand<TFloat32>> cut0Out = new ArrayList<>();
      List<Operand<TFloat32>> cut2In = new ArrayList<>();
      List<Operand<TFloat32>> cut2Out = new ArrayList<>();
      for (Operand<TFloat32> x : inputs) {
        Operand<TFloat32> h =
            tf.nn.relu(tf.nn.biasAdd(tf.nn.conv2d(x, vars.get(0), UNIT, "SAME"), vars.get(1)));
        Operand<TFloat32> z =
            tf.nn.biasAdd(tf.nn.conv2d(h, vars.get(2), UNIT, "SAME"), vars.get(3));
        reference.add(dense(tf, z, vars));
        Operand<TFloat32> z0 = FeatureConv.forward(tf, x, vars.get(0), "SAME");
        Operand<TFloat32> h1 = tf.nn.relu(tf.nn.biasAdd(z0, vars.get(1)));
        Operand<TFloat32> z2 = FeatureConv.forward(tf, h1, vars.get(2), "SAME");
        staged.add(dense(tf, tf.nn.biasAdd(z2, vars.get(3)), vars));
        cut0In.add(x);
        cut0Out.add(z0);
        cut2In.add(h1);
        cut2Out.add(z2);
      }
      cuts.add(new Network.Cut(0, vars.get(0), "SAME", cut0In, cut0Out));
      cuts.add(new Network.Cut(2, vars.get(2), "SAME", cut2In, cut2Out));
      Operand<TFloat32> referenceLogits = tf.concat(reference, tf.constant(0));
      Operand<TFloat32> stagedLogits = tf.concat(staged, tf.constant(0));
      Operand<TFloat32> seed = cosines(tf, referenceLogits);
      Output<?>[] want =
          graph.addGradients(
              "reference",
              new Output<?>[] {referenceLogits.asOutput()},
              vars.stream().map(Variable::asOutput).toArray(Output<?>[]::new),
              new Output<?>[] {seed.asOutput()});
      List<Operand<TFloat32>> got =
          Backprop.gradients(
              graph, tf, new Network.Pass(stagedLogits, List.of(), cuts), seed, vars, owners);
      session.initialize();
      List<Operand<TFloat32>> fetched = new ArrayList<>(List.of(referenceLogits, stagedLogits));
      for (int i = 0; i < vars.size(); i++) {
        fetched.add(cast(want[i]));
        fetched.add(got.get(i));
      }
      assertPairsClose(
          session,
          fetched,
          "logits",
          "c0 kernel",
          "c0 bias",
          "c2 kernel",
          "c2 bias",
          "d4 kernel",
          "d4 bias");
    }
  }

  private static Operand<TFloat32> dense(
      Ops tf, Operand<TFloat32> z, List<Variable<TFloat32>> vars) {
    return tf.nn.biasAdd(
        tf.linalg.matMul(tf.reshape(z, tf.constant(new int[] {-1, 126})), vars.get(4)),
        vars.get(5));
  }

  /** Fetches the operands and checks each (expected, actual) pair, named in order. */
  private static void assertPairsClose(
      Session session, List<Operand<TFloat32>> fetched, String... names) {
    Session.Runner runner = session.runner();
    fetched.forEach(runner::fetch);
    try (Result r = runner.run()) {
      for (int p = 0; p < names.length; p++) {
        TFloat32 expected = (TFloat32) r.get(2 * p);
        TFloat32 actual = (TFloat32) r.get(2 * p + 1);
        assertThat(actual.shape()).as(names[p]).isEqualTo(expected.shape());
        float[] want = values(expected);
        float[] got = values(actual);
        float scale = 0;
        for (float v : want) {
          scale = Math.max(scale, Math.abs(v));
        }
        assertThat(scale).as("%s is not all zeros", names[p]).isGreaterThan(0f);
        for (int i = 0; i < want.length; i++) {
          assertThat(got[i])
              .as("%s element %d", names[p], i)
              .isCloseTo(want[i], Offset.offset(1e-5f * Math.max(1f, scale)));
        }
      }
    }
  }

  /** Weights that make every output's gradient depend on where it landed. */
  private static Operand<TFloat32> cosines(Ops tf, Operand<TFloat32> like) {
    return tf.reshape(
        tf.math.cos(
            tf.dtypes.cast(
                tf.range(tf.constant(0), tf.size(like), tf.constant(1)), TFloat32.class)),
        tf.shape(like));
  }

  private static Variable<TFloat32> variable(Ops tf, Random random, long... shape) {
    float[] values = new float[(int) Shape.of(shape).size()];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return tf.variable(tf.constant(Shape.of(shape), DataBuffers.of(values, true, false)));
  }

  @SuppressWarnings("unchecked")
  private static Operand<TFloat32> cast(Output<?> output) {
    return (Operand<TFloat32>) output;
  }

  private static float[] values(TFloat32 t) {
    float[] out = new float[(int) t.size()];
    t.copyTo(DataBuffers.of(out, false, false));
    return out;
  }
}
