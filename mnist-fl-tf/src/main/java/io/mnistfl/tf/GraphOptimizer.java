package io.mnistfl.tf;

import io.mnistfl.model.OptimizerSpec;
import java.util.List;
import org.tensorflow.Operand;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.types.TFloat32;

/**
 * Builds the ops that apply gradients to a fixed list of variables, with the learning rate as a
 * graph input so a federated round or a schedule can change it without rebuilding the graph. The
 * optimizer state (slots) is created once; {@link #apply} may be called more than once (plain and
 * proximal training steps share the state).
 */
interface GraphOptimizer {

  /** An update op applying {@code gradients[i]} to the i-th variable. */
  Op apply(List<Operand<TFloat32>> gradients, Operand<TFloat32> learningRate);

  /** An op that resets all optimizer state (slots, step counters) to its initial values. */
  Op reset();

  /** The optimizer for a spec, with slots for {@code variables}. */
  static GraphOptimizer of(Ops tf, OptimizerSpec spec, List<Variable<TFloat32>> variables) {
    if (spec instanceof OptimizerSpec.Sgd sgd) {
      return new MomentumOptimizer(tf, sgd, variables);
    }
    return new AdamOptimizer(tf, (OptimizerSpec.Adam) spec, variables);
  }
}
