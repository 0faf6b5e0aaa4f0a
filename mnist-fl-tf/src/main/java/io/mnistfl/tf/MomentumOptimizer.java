package io.mnistfl.tf;

import io.mnistfl.model.OptimizerSpec;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.train.ApplyMomentum;
import org.tensorflow.types.TFloat32;

/** SGD with classical or Nesterov momentum: {@code a = m·a + g; w -= lr·a}. */
final class MomentumOptimizer implements GraphOptimizer {
  private final Ops tf;
  private final OptimizerSpec.Sgd spec;
  private final List<Op> resets = new ArrayList<>();

  MomentumOptimizer(Ops tf, OptimizerSpec.Sgd spec) {
    this.tf = tf.withSubScope("momentum");
    this.spec = spec;
  }

  @Override
  public Op apply(List<Variable<TFloat32>> variables, List<Operand<TFloat32>> gradients,
      Operand<TFloat32> learningRate) {
    Operand<TFloat32> momentum = tf.constant((float) spec.momentum());
    List<Op> updates = new ArrayList<>();
    for (int i = 0; i < variables.size(); i++) {
      Variable<TFloat32> variable = variables.get(i);
      Operand<TFloat32> zeros = tf.zerosLike(variable);
      Variable<TFloat32> accumulator = tf.variable(zeros);
      resets.add(tf.assign(accumulator, zeros));
      updates.add(tf.train.applyMomentum(variable, accumulator, learningRate, gradients.get(i),
          momentum, ApplyMomentum.useNesterov(spec.nesterov())));
    }
    return tf.withControlDependencies(updates).noOp();
  }

  @Override
  public Op reset() {
    return tf.withControlDependencies(resets).noOp();
  }
}
