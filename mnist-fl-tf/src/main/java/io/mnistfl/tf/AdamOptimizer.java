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
  private final List<Variable<TFloat32>> variables;
  private final Operand<TFloat32> beta1;
  private final Operand<TFloat32> beta2;
  private final Operand<TFloat32> epsilon;
  private final Variable<TFloat32> beta1Power;
  private final Variable<TFloat32> beta2Power;
  private final List<Variable<TFloat32>> firstMoments = new ArrayList<>();
  private final List<Variable<TFloat32>> secondMoments = new ArrayList<>();
  private final List<Op> resets = new ArrayList<>();

  AdamOptimizer(Ops tf, OptimizerSpec.Adam spec, List<Variable<TFloat32>> variables) {
    this.tf = tf.withSubScope("adam");
    this.variables = List.copyOf(variables);
    beta1 = this.tf.constant((float) spec.beta1());
    beta2 = this.tf.constant((float) spec.beta2());
    epsilon = this.tf.constant((float) spec.epsilon());
    beta1Power = this.tf.variable(beta1);
    beta2Power = this.tf.variable(beta2);
    resets.add(this.tf.assign(beta1Power, beta1));
    resets.add(this.tf.assign(beta2Power, beta2));
    for (Variable<TFloat32> variable : variables) {
      Operand<TFloat32> zeros = this.tf.zerosLike(variable);
      Variable<TFloat32> m = this.tf.variable(zeros);
      Variable<TFloat32> v = this.tf.variable(zeros);
      firstMoments.add(m);
      secondMoments.add(v);
      resets.add(this.tf.assign(m, zeros));
      resets.add(this.tf.assign(v, zeros));
    }
  }

  @Override
  public Op apply(List<Operand<TFloat32>> gradients, Operand<TFloat32> learningRate) {
    List<Op> updates = new ArrayList<>();
    for (int i = 0; i < variables.size(); i++) {
      updates.add(
          tf.train.applyAdam(
              variables.get(i),
              firstMoments.get(i),
              secondMoments.get(i),
              beta1Power,
              beta2Power,
              learningRate,
              beta1,
              beta2,
              epsilon,
              gradients.get(i)));
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
