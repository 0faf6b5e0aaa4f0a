package io.mnistfl.tf;

import io.mnistfl.model.ParameterShape;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * The gradients of a training pass's loss for the trainable variables, built in stages: from the
 * logits down to the topmost {@link Network.Cut}, by hand through that convolution ({@link
 * FeatureConv}), from its input down to the next cut, and so on. Each stage is one {@link
 * Graph#addGradients} call over the variables of the layers between two cuts (a cut layer's bias
 * belongs to the stage above it, its kernel to the hand-built step).
 */
final class Backprop {
  private Backprop() {}

  /**
   * @param trainable the variables to differentiate, in order
   * @param owners the spec parameter each of {@code trainable} holds (a block of)
   * @return one gradient per trainable variable, in order
   */
  static List<Operand<TFloat32>> gradients(
      Graph graph,
      Ops tf,
      Network.Pass pass,
      Operand<TFloat32> logitsGradient,
      List<Variable<TFloat32>> trainable,
      List<ParameterShape> owners) {
    @SuppressWarnings("unchecked")
    Operand<TFloat32>[] out = new Operand[trainable.size()];
    List<Operand<TFloat32>> ys = List.of(pass.logits());
    List<Operand<TFloat32>> seeds = List.of(logitsGradient);
    int above = Integer.MAX_VALUE;
    List<Network.Cut> cuts = pass.cuts();
    for (int c = cuts.size(); c >= 0; c--) {
      Network.Cut cut = c > 0 ? cuts.get(c - 1) : null;
      int below = cut == null ? -1 : cut.layer();
      List<Integer> wanted = new ArrayList<>();
      for (int i = 0; i < trainable.size(); i++) {
        ParameterShape p = owners.get(i);
        boolean between = p.layer() > below && p.layer() < above;
        if (between || p.layer() == below && p.role() == ParameterShape.Role.BIAS) {
          wanted.add(i);
        }
      }
      List<Output<?>> xs = new ArrayList<>();
      wanted.forEach(i -> xs.add(trainable.get(i).asOutput()));
      if (cut != null) {
        cut.outputs().forEach(z -> xs.add(z.asOutput()));
      }
      if (xs.isEmpty()) {
        break;
      }
      Output<?>[] grads =
          graph.addGradients(
              tf.scope().makeOpName("gradients"),
              outputs(ys),
              xs.toArray(Output<?>[]::new),
              outputs(seeds));
      for (int w = 0; w < wanted.size(); w++) {
        out[wanted.get(w)] = cast(grads[w]);
      }
      if (cut == null) {
        break;
      }
      List<Operand<TFloat32>> kernelParts = new ArrayList<>();
      List<Operand<TFloat32>> inputGradients = new ArrayList<>();
      Operand<TFloat32> flipped = FeatureConv.flipped(tf, cut.kernel());
      for (int r = 0; r < cut.inputs().size(); r++) {
        Operand<TFloat32> dz = cast(grads[wanted.size() + r]);
        kernelParts.add(
            FeatureConv.kernelGradient(tf, cut.inputs().get(r), dz, cut.kernel(), cut.padding()));
        inputGradients.add(FeatureConv.inputGradient(tf, dz, flipped, cut.padding()));
      }
      int kernel = trainable.indexOf(cut.kernel());
      out[kernel] = kernelParts.size() == 1 ? kernelParts.get(0) : tf.math.addN(kernelParts);
      ys = cut.inputs();
      seeds = inputGradients;
      above = cut.layer();
    }
    for (int i = 0; i < out.length; i++) {
      if (out[i] == null) {
        throw new IllegalStateException("no gradient for " + owners.get(i));
      }
    }
    return List.of(out);
  }

  private static Output<?>[] outputs(List<Operand<TFloat32>> operands) {
    return operands.stream().map(Operand::asOutput).toArray(Output<?>[]::new);
  }

  @SuppressWarnings("unchecked")
  private static Operand<TFloat32> cast(Output<?> output) {
    return (Operand<TFloat32>) output;
  }
}
