package io.mnistfl.tf;

import io.mnistfl.model.OptimizerSpec;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * Builds the ops that apply gradients to variables, with the learning rate as a graph input so a
 * federated round or a schedule can change it without rebuilding the graph.
 */
interface GraphOptimizer {

  /** The update op: applies {@code gradients[i]} to {@code variables[i]}. */
  Op apply(List<Variable<TFloat32>> variables, List<Operand<TFloat32>> gradients,
      Operand<TFloat32> learningRate);

  /** An op that resets all optimizer state (slots, step counters) to its initial values. */
  Op reset();

  /** The optimizer for a spec. */
  static GraphOptimizer of(Ops tf, OptimizerSpec spec) {
    if (spec instanceof OptimizerSpec.Sgd sgd) {
      return new MomentumOptimizer(tf, sgd);
    }
    return new AdamOptimizer(tf, (OptimizerSpec.Adam) spec);
  }
}
