package io.mnistfl.tf;

import io.mnistfl.model.Layer;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.ParameterShape;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
 * One TensorFlow graph and session for a {@link ModelSpec}: the variables, training heads
 * (cross-entropy, gradients of the trainable variables only, optional FedProx term, optimizer,
 * batch-norm statistics; one pass, plus a replicated one when {@link TfOptions#replicas()} asks
 * for it), an inference head sharing the variables, and ops to assign all variables at once,
 * snapshot them as the proximal anchor and reset the optimizer.
 */
final class ModelGraph implements AutoCloseable {
  final Graph graph;
  final Session session;
  final Placeholder<TFloat32> images;
  final Placeholder<TInt32> labels;
  final Placeholder<TFloat32> learningRate;
  final Placeholder<TFloat32> proximalMu;
  final TrainHead singleHead;
  final Optional<TrainHead> replicatedHead;
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
      GraphOptimizer optimizer = GraphOptimizer.of(tf, spec.optimizer(), trainable);
      TrainHeadBuilder heads = new TrainHeadBuilder(network, optimizer, trainable, anchors,
          spec.numClasses());
      // Batch statistics are per batch: splitting it would change what batch norm computes.
      boolean batchNorm = spec.layers().stream().anyMatch(Layer.BatchNorm.class::isInstance);
      int replicas = batchNorm ? 1 : options.replicas();
      singleHead = heads.build(tf.withSubScope("train"), 1);
      replicatedHead = replicas > 1
          ? Optional.of(heads.build(tf.withSubScope("train_replicated"), replicas))
          : Optional.empty();
      resetOptimizer = optimizer.reset();

      Ops infer = tf.withSubScope("infer");
      Network.Pass inference = network.build(infer, images, false, 0);
      probabilities = infer.withName("probabilities").nn.softmax(inference.logits());
      predictions = infer.withName("predictions").math.argMax(inference.logits(),
          infer.constant(1));
      evalLossSum = infer.withName("loss_sum").sum(infer.nn.softmaxCrossEntropyWithLogits(
          inference.logits(), oneHot(infer, labels, spec.numClasses())).loss(), infer.constant(0));

      // Replicas share the threads; two ops at a time even without them (independent gradient
      // products and per-variable updates overlap): 6 % faster for the baseline on 2 cores.
      ConfigProto config = ConfigProto.newBuilder()
          .setIntraOpParallelismThreads(Math.max(1, options.threads() / replicas))
          .setInterOpParallelismThreads(Math.max(2, replicas))
          .build();
      session = new Session(graph, config);
      session.initialize();
    } catch (RuntimeException e) {
      graph.close();
      throw e;
    }
  }

  /**
   * One way to run a training step over a fed batch: the step, its FedProx variant, and the mean
   * loss and correct count it reports.
   *
   * @param replicas the batch is split into this many parts computed concurrently; the batch must
   *     hold at least this many examples
   */
  record TrainHead(int replicas, Op step, Op proximalStep, Operand<TFloat32> meanLoss,
      Operand<TFloat32> correct) {}

  /** Training replicas per step: {@link TfOptions#replicas()}, or 1 with batch normalization. */
  int replicas() {
    return replicatedHead.map(TrainHead::replicas).orElse(1);
  }

  /** The head for a batch: replicated when it has an example for every replica. */
  TrainHead head(int batchSize) {
    return replicatedHead.filter(h -> batchSize >= h.replicas()).orElse(singleHead);
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

  /**
   * Builds training heads that share the variables and the optimizer's state. A replicated head
   * splits the batch with {@code SplitV}, runs the network on each part (concurrently, as the
   * parts are independent), and differentiates the summed loss over the whole batch: the same
   * gradient as one pass, up to float rounding.
   */
  private final class TrainHeadBuilder {
    private final Network network;
    private final GraphOptimizer optimizer;
    private final List<Variable<TFloat32>> trainable;
    private final List<Variable<TFloat32>> anchors;
    private final Output<?>[] trainableOutputs;
    private final int classes;

    TrainHeadBuilder(Network network, GraphOptimizer optimizer, List<Variable<TFloat32>> trainable,
        List<Variable<TFloat32>> anchors, int classes) {
      this.network = network;
      this.classes = classes;
      this.optimizer = optimizer;
      this.trainable = trainable;
      this.anchors = anchors;
      trainableOutputs = trainable.stream().map(Variable::asOutput).toArray(Output<?>[]::new);
    }

    TrainHead build(Ops tf, int parts) {
      Operand<TInt32> count = tf.squeeze(tf.shape(labels));
      List<Operand<TFloat32>> imageParts = List.of(images);
      List<Operand<TInt32>> labelParts = List.of(labels);
      if (parts > 1) {
        Operand<TInt32> each = tf.math.floorDiv(count, tf.constant(parts));
        List<Operand<TInt32>> sizes = new ArrayList<>(Collections.nCopies(parts - 1, each));
        sizes.add(tf.math.sub(count, tf.math.mul(each, tf.constant(parts - 1))));
        Operand<TInt32> sizeVector = tf.stack(sizes);
        imageParts = List.copyOf(
            tf.splitV(images, sizeVector, tf.constant(0), (long) parts).output());
        labelParts = List.copyOf(
            tf.splitV(labels, sizeVector, tf.constant(0), (long) parts).output());
      }
      Operand<TFloat32> lossSum = tf.constant(0f);
      Operand<TFloat32> correct = tf.constant(0f);
      List<Op> statisticUpdates = new ArrayList<>();
      for (int r = 0; r < parts; r++) {
        Ops part = parts > 1 ? tf.withSubScope("replica_" + r) : tf;
        Network.Pass pass = network.build(part, imageParts.get(r), true, r);
        statisticUpdates.addAll(pass.statisticUpdates());
        Operand<TFloat32> losses = part.nn.softmaxCrossEntropyWithLogits(pass.logits(),
            oneHot(part, labelParts.get(r), classes)).loss();
        lossSum = part.math.add(lossSum, part.sum(losses, part.constant(0)));
        correct = part.math.add(correct, part.sum(part.dtypes.cast(part.math.equal(
            part.math.argMax(pass.logits(), part.constant(1), TInt32.class), labelParts.get(r)),
            TFloat32.class), part.constant(0)));
      }
      Operand<TFloat32> meanLoss = tf.withName("mean_loss").math.div(lossSum,
          tf.dtypes.cast(count, TFloat32.class));

      Output<?>[] rawGradients = graph.addGradients(meanLoss.asOutput(), trainableOutputs);
      List<Operand<TFloat32>> gradients = new ArrayList<>();
      List<Operand<TFloat32>> proximalGradients = new ArrayList<>();
      for (int i = 0; i < rawGradients.length; i++) {
        @SuppressWarnings("unchecked")
        Operand<TFloat32> g = (Operand<TFloat32>) rawGradients[i];
        gradients.add(g);
        // FedProx: ∇(μ/2·‖w − w₀‖²) = μ·(w − w₀). A separate step, so plain training pays nothing.
        proximalGradients.add(tf.math.add(g,
            tf.math.mul(proximalMu, tf.math.sub(trainable.get(i), anchors.get(i)))));
      }
      Op step = step(tf, "step", statisticUpdates,
          optimizer.apply(allComputed(tf, gradients), learningRate));
      Op proximalStep = step(tf, "proximal_step", statisticUpdates,
          optimizer.apply(allComputed(tf, proximalGradients), learningRate));
      return new TrainHead(parts, step, proximalStep, meanLoss,
          tf.withName("correct").identity(correct));
    }
  }

  private static Operand<TFloat32> oneHot(Ops tf, Operand<TInt32> labels, int classes) {
    return tf.oneHot(labels, tf.constant(classes), tf.constant(1f), tf.constant(0f));
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
