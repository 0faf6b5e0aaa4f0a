package io.mnistfl.tf;

import io.mnistfl.model.OptimizerSpec;
import java.util.ArrayList;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/** Adam with bias correction through the running powers of β₁ and β₂. */
final class AdamOptimizer implements GraphOptimizer {
  private final Ops tf;
  private final OptimizerSpec.Adam spec;
  private final List<Op> resets = new ArrayList<>();

  AdamOptimizer(Ops tf, OptimizerSpec.Adam spec) {
    this.tf = tf.withSubScope("adam");
    this.spec = spec;
  }

  @Override
  public Op apply(List<Variable<TFloat32>> variables, List<Operand<TFloat32>> gradients,
      Operand<TFloat32> learningRate) {
    Operand<TFloat32> beta1 = tf.constant((float) spec.beta1());
    Operand<TFloat32> beta2 = tf.constant((float) spec.beta2());
    Operand<TFloat32> epsilon = tf.constant((float) spec.epsilon());
    Variable<TFloat32> beta1Power = tf.variable(beta1);
    Variable<TFloat32> beta2Power = tf.variable(beta2);
    resets.add(tf.assign(beta1Power, beta1));
    resets.add(tf.assign(beta2Power, beta2));
    List<Op> updates = new ArrayList<>();
    for (int i = 0; i < variables.size(); i++) {
      Variable<TFloat32> variable = variables.get(i);
      Operand<TFloat32> zeros = tf.zerosLike(variable);
      Variable<TFloat32> firstMoment = tf.variable(zeros);
      Variable<TFloat32> secondMoment = tf.variable(zeros);
      resets.add(tf.assign(firstMoment, zeros));
      resets.add(tf.assign(secondMoment, zeros));
      updates.add(tf.train.applyAdam(variable, firstMoment, secondMoment, beta1Power, beta2Power,
          learningRate, beta1, beta2, epsilon, gradients.get(i)));
    }
    Ops afterUpdates = tf.withControlDependencies(updates);
    Op advance1 = afterUpdates.assign(beta1Power, afterUpdates.math.mul(beta1Power, beta1));
    Op advance2 = afterUpdates.assign(beta2Power, afterUpdates.math.mul(beta2Power, beta2));
    return tf.withControlDependencies(List.of(advance1, advance2)).noOp();
  }

  @Override
  public Op reset() {
    return tf.withControlDependencies(resets).noOp();
  }
}
