package io.mnistfl.tf;

import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.ParameterShape;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * One TensorFlow graph and session for a {@link ModelSpec}: the variables, a training step
 * (cross-entropy, gradients of the trainable variables only, optional FedProx term, optimizer,
 * batch-norm statistics), an inference head sharing the variables, and ops to assign all variables
 * at once, snapshot them as the proximal anchor and reset the optimizer.
 */
final class ModelGraph implements AutoCloseable {
  final Graph graph;
  final Session session;
  final Placeholder<TFloat32> images;
  final Placeholder<TInt32> labels;
  final Placeholder<TFloat32> learningRate;
  final Placeholder<TFloat32> proximalMu;
  final Op trainStep;
  final Op proximalTrainStep;
  final Operand<TFloat32> trainMeanLoss;
  final Operand<TFloat32> trainCorrect;
  final Operand<TFloat32> probabilities;
  final Operand<TInt64> predictions;
  final Operand<TFloat32> evalLossSum;
  final List<ParameterShape> parameters;
  final List<Variable<TFloat32>> variables = new ArrayList<>();
  final List<Placeholder<TFloat32>> assignInputs = new ArrayList<>();
  final Op assignAll;
  final Op resetOptimizer;
  final Op snapshotAnchor;

  ModelGraph(ModelSpec spec, TfOptions options) {
    graph = new Graph();
    try {
      Ops tf = Ops.create(graph);
      parameters = spec.parameters();
      int h = spec.inputHeight();
      int w = spec.inputWidth();
      images = tf.withName("images").placeholder(TFloat32.class,
          Placeholder.shape(Shape.of(-1, h, w, 1)));
      labels = tf.withName("labels").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1)));
      learningRate = tf.withName("learning_rate").placeholder(TFloat32.class,
          Placeholder.shape(Shape.scalar()));
      proximalMu = tf.withName("proximal_mu").placeholder(TFloat32.class,
          Placeholder.shape(Shape.scalar()));

      Map<String, Variable<TFloat32>> byName = new LinkedHashMap<>();
      List<Op> assigns = new ArrayList<>();
      List<Variable<TFloat32>> trainable = new ArrayList<>();
      List<Variable<TFloat32>> anchors = new ArrayList<>();
      List<Op> snapshots = new ArrayList<>();
      Ops vars = tf.withSubScope("vars");
      Ops anchorOps = tf.withSubScope("anchor");
      for (ParameterShape p : parameters) {
        Shape shape = shapeOf(p);
        String opName = p.name().replace('/', '_');
        Variable<TFloat32> v = vars.withName(opName).variable(shape, TFloat32.class);
        Placeholder<TFloat32> input = vars.withName(opName + "_in").placeholder(TFloat32.class,
            Placeholder.shape(shape));
        variables.add(v);
        assignInputs.add(input);
        assigns.add(vars.assign(v, input));
        byName.put(p.name(), v);
        if (p.trainable()) {
          trainable.add(v);
          // FedProx's w₀: set with the weights, re-snapshotted at the start of a proximal fit.
          Variable<TFloat32> anchor = anchorOps.withName(opName).variable(shape, TFloat32.class);
          anchors.add(anchor);
          assigns.add(anchorOps.assign(anchor, input));
          snapshots.add(anchorOps.assign(anchor, v));
        }
      }
      assignAll = tf.withControlDependencies(assigns).withName("assign_all").noOp();
      snapshotAnchor = tf.withControlDependencies(snapshots).withName("snapshot_anchor").noOp();

      Network network = new Network(spec, byName);
      Operand<TFloat32> oneHot = tf.oneHot(labels, tf.constant(spec.numClasses()),
          tf.constant(1f), tf.constant(0f));

      Ops train = tf.withSubScope("train");
      Network.Pass pass = network.build(train, images, true);
      Operand<TFloat32> losses = train.nn.softmaxCrossEntropyWithLogits(pass.logits(), oneHot)
          .loss();
      trainMeanLoss = train.withName("mean_loss").math.mean(losses, train.constant(0));
      trainCorrect = train.withName("correct").sum(train.dtypes.cast(
          train.math.equal(train.math.argMax(pass.logits(), train.constant(1), TInt32.class),
              labels), TFloat32.class), train.constant(0));

      Output<?>[] trainableOutputs = new Output<?>[trainable.size()];
      for (int i = 0; i < trainable.size(); i++) {
        trainableOutputs[i] = trainable.get(i).asOutput();
      }
      Output<?>[] rawGradients = graph.addGradients(trainMeanLoss.asOutput(), trainableOutputs);
      List<Operand<TFloat32>> gradients = new ArrayList<>();
      List<Operand<TFloat32>> proximalGradients = new ArrayList<>();
      for (int i = 0; i < rawGradients.length; i++) {
        @SuppressWarnings("unchecked")
        Operand<TFloat32> g = (Operand<TFloat32>) rawGradients[i];
        gradients.add(g);
        // FedProx: ∇(μ/2·‖w − w₀‖²) = μ·(w − w₀). A separate step, so plain training pays nothing.
        proximalGradients.add(train.math.add(g,
            train.math.mul(proximalMu, train.math.sub(trainable.get(i), anchors.get(i)))));
      }
      GraphOptimizer optimizer = GraphOptimizer.of(tf, spec.optimizer(), trainable);
      trainStep = step(tf, "train_step", pass.statisticUpdates(),
          optimizer.apply(allComputed(train, gradients), learningRate));
      proximalTrainStep = step(tf, "proximal_train_step", pass.statisticUpdates(),
          optimizer.apply(allComputed(train, proximalGradients), learningRate));
      resetOptimizer = optimizer.reset();

      Ops infer = tf.withSubScope("infer");
      Network.Pass inference = network.build(infer, images, false);
      probabilities = infer.withName("probabilities").nn.softmax(inference.logits());
      predictions = infer.withName("predictions").math.argMax(inference.logits(),
          infer.constant(1));
      evalLossSum = infer.withName("loss_sum").sum(
          infer.nn.softmaxCrossEntropyWithLogits(inference.logits(), oneHot).loss(),
          infer.constant(0));

      ConfigProto config = ConfigProto.newBuilder()
          .setIntraOpParallelismThreads(options.intraOpThreads())
          .setInterOpParallelismThreads(options.interOpThreads())
          .build();
      session = new Session(graph, config);
      session.initialize();
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  /**
   * The gradients, each gated on all of them. Variables are read by reference, so without this an
   * update of a layer's kernel could run while the backward pass still reads that kernel to reach
   * earlier layers: a wrong gradient, and one that depends on thread timing.
   */
  private static List<Operand<TFloat32>> allComputed(Ops tf, List<Operand<TFloat32>> gradients) {
    List<Op> computed = new ArrayList<>();
    for (Operand<TFloat32> g : gradients) {
      computed.add(tf.identity(g));
    }
    Ops gated = tf.withControlDependencies(computed);
    List<Operand<TFloat32>> out = new ArrayList<>();
    for (Operand<TFloat32> g : gradients) {
      out.add(gated.identity(g));
    }
    return out;
  }

  private static Op step(Ops tf, String name, List<Op> statisticUpdates, Op applyGradients) {
    List<Op> ops = new ArrayList<>(statisticUpdates);
    ops.add(applyGradients);
    return tf.withControlDependencies(ops).withName(name).noOp();
  }

  /** The TensorFlow shape of a spec parameter. */
  static Shape shapeOf(ParameterShape p) {
    int[] dims = p.shape();
    long[] out = new long[dims.length];
    for (int i = 0; i < dims.length; i++) {
      out[i] = dims[i];
    }
    return Shape.of(out);
  }

  @Override
  public void close() {
    try {
      session.close();
    } finally {
      graph.close();
    }
  }
}
