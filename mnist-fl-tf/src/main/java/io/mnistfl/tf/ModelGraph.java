package io.mnistfl.tf;

import io.mnistfl.model.Layer;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.ParameterShape;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.nn.SparseSoftmaxCrossEntropyWithLogits;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * One TensorFlow graph and session for a {@link ModelSpec}: the variables, training heads
 * (cross-entropy, gradients of the trainable variables only, optional FedProx term, optimizer,
 * batch-norm statistics; one pass, plus a replicated one when {@link TfOptions#replicas()} asks for
 * it), an inference head sharing the variables, and ops to assign all variables at once, snapshot
 * them as the proximal anchor and reset the optimizer.
 */
final class ModelGraph implements AutoCloseable {
  final Graph graph;
  final Session session;
  final Placeholder<TFloat32> images;
  final Placeholder<TInt32> labels;
  final Placeholder<TFloat32> learningRate;
  final Placeholder<TFloat32> proximalMu;
  final Operand<TInt64> dropoutSeed;
  final TrainHead singleHead;
  final Optional<TrainHead> replicatedHead;
  final Operand<TFloat32> probabilities;
  final Operand<TInt64> predictions;
  final Operand<TFloat32> evalLossSum;
  final List<StoredParameter> stored;
  final Op assignAll;
  final Op resetOptimizer;
  final Op snapshotAnchor;

  /** Runs after the session opens and before it initializes; tests inject a failure here. */
  static volatile Runnable afterSessionOpens = () -> {};

  ModelGraph(ModelSpec spec, TfOptions options) {
    graph = new Graph();
    Session opened = null;
    try {
      Ops tf = Ops.create(graph);
      List<ParameterShape> parameters = spec.parameters();
      int h = spec.inputHeight();
      int w = spec.inputWidth();
      images =
          tf.withName("images")
              .placeholder(TFloat32.class, Placeholder.shape(Shape.of(-1, h, w, 1)));
      labels = tf.withName("labels").placeholder(TInt32.class, Placeholder.shape(Shape.of(-1)));
      learningRate =
          tf.withName("learning_rate")
              .placeholder(TFloat32.class, Placeholder.shape(Shape.scalar()));
      proximalMu =
          tf.withName("proximal_mu").placeholder(TFloat32.class, Placeholder.shape(Shape.scalar()));
      dropoutSeed =
          tf.withName("dropout_seed")
              .placeholderWithDefault(tf.constant(new long[] {0, 0}), Shape.of(2));

      // Batch statistics are per batch: splitting it would change what batch norm computes.
      boolean batchNorm = spec.layers().stream().anyMatch(Layer.BatchNorm.class::isInstance);
      int replicas = batchNorm ? 1 : options.replicas();

      Map<String, List<Variable<TFloat32>>> byName = new LinkedHashMap<>();
      List<Op> assigns = new ArrayList<>();
      List<Variable<TFloat32>> trainable = new ArrayList<>();
      List<ParameterShape> owners = new ArrayList<>();
      List<Variable<TFloat32>> anchors = new ArrayList<>();
      List<Op> snapshots = new ArrayList<>();
      List<StoredParameter> stored = new ArrayList<>();
      Ops vars = tf.withSubScope("vars");
      Ops anchorOps = tf.withSubScope("anchor");
      for (ParameterShape p : parameters) {
        List<Shape> blocks = rowBlocks(p, isLargeDenseKernel(p) ? replicas : 1);
        List<Variable<TFloat32>> shards = new ArrayList<>();
        List<Placeholder<TFloat32>> inputs = new ArrayList<>();
        for (int b = 0; b < blocks.size(); b++) {
          Shape shape = blocks.get(b);
          String opName = p.name().replace('/', '_') + (blocks.size() > 1 ? "_rows" + b : "");
          Variable<TFloat32> v = vars.withName(opName).variable(shape, TFloat32.class);
          Placeholder<TFloat32> input =
              vars.withName(opName + "_in").placeholder(TFloat32.class, Placeholder.shape(shape));
          shards.add(v);
          inputs.add(input);
          assigns.add(vars.assign(v, input));
          if (p.trainable()) {
            trainable.add(v);
            owners.add(p);
            // FedProx's w₀: set with the weights, re-snapshotted at the start of a proximal fit.
            Variable<TFloat32> anchor = anchorOps.withName(opName).variable(shape, TFloat32.class);
            anchors.add(anchor);
            assigns.add(anchorOps.assign(anchor, input));
            snapshots.add(anchorOps.assign(anchor, v));
          }
        }
        stored.add(new StoredParameter(p, List.copyOf(shards), List.copyOf(inputs)));
        byName.put(p.name(), List.copyOf(shards));
      }
      this.stored = List.copyOf(stored);
      assignAll = tf.withControlDependencies(assigns).withName("assign_all").noOp();
      snapshotAnchor = tf.withControlDependencies(snapshots).withName("snapshot_anchor").noOp();

      Network network = new Network(spec, byName, dropoutSeed);
      GraphOptimizer optimizer = GraphOptimizer.of(tf, spec.optimizer(), trainable);
      TrainHeadBuilder heads = new TrainHeadBuilder(network, optimizer, trainable, owners, anchors);
      singleHead = heads.build(tf.withSubScope("train"), 1);
      replicatedHead =
          replicas > 1
              ? Optional.of(heads.build(tf.withSubScope("train_replicated"), replicas))
              : Optional.empty();
      resetOptimizer = optimizer.reset();

      Ops infer = tf.withSubScope("infer");
      Network.Pass inference = network.build(infer, images, false);
      probabilities = infer.withName("probabilities").nn.softmax(inference.logits());
      predictions =
          infer.withName("predictions").math.argMax(inference.logits(), infer.constant(1));
      evalLossSum =
          infer
              .withName("loss_sum")
              .sum(
                  infer.nn.sparseSoftmaxCrossEntropyWithLogits(inference.logits(), labels).loss(),
                  infer.constant(0));

      // Replicas share the threads; two ops at a time even without them (independent gradient
      // products and per-variable updates overlap): 6 % faster for the baseline on 2 cores. A
      // one-thread session (a worker of a pool) runs one op at a time. Every session has its
      // own pools: sessions in one JVM otherwise share the first one's inter-op pool.
      ConfigProto config =
          ConfigProto.newBuilder()
              .setIntraOpParallelismThreads(Math.max(1, options.threads() / replicas))
              .setInterOpParallelismThreads(options.threads() == 1 ? 1 : Math.max(2, replicas))
              .setUsePerSessionThreads(true)
              .build();
      opened = new Session(graph, config);
      afterSessionOpens.run();
      opened.initialize();
      session = opened;
    } catch (RuntimeException | Error e) {
      // A graph closes only once its sessions have: closing it first would wait forever.
      if (opened != null) {
        opened.close();
      }
      graph.close();
      throw e;
    }
  }

  /**
   * One way to run a training step over a fed batch: the step, its FedProx variant, and the mean
   * loss and correct count it reports.
   *
   * @param replicas the batch is split into this many parts computed concurrently; the batch must
   *     split evenly into them
   */
  record TrainHead(
      int replicas,
      Op step,
      Op proximalStep,
      Operand<TFloat32> meanLoss,
      Operand<TFloat32> correct) {}

  /**
   * A spec parameter and the variables that hold it: consecutive blocks of its rows, so a
   * parameter's values are the shards' values one after another. Large dense kernels are split into
   * one block per replica: each block's product, gradient and update is then a separate op, and the
   * replicas' threads share the work that would otherwise run on one.
   */
  record StoredParameter(
      ParameterShape parameter,
      List<Variable<TFloat32>> shards,
      List<Placeholder<TFloat32>> assignInputs) {}

  /** Dense kernels from 256 KiB are split; for smaller ones an op costs more than it saves. */
  private static boolean isLargeDenseKernel(ParameterShape p) {
    return p.trainable() && p.shape().length == 2 && p.size() >= 1 << 16;
  }

  /** {@code p}'s shape cut into {@code blocks} runs of rows, as equal as possible. */
  private static List<Shape> rowBlocks(ParameterShape p, int blocks) {
    int[] dims = p.shape();
    int n = Math.min(blocks, dims[0]);
    List<Shape> out = new ArrayList<>();
    for (int b = 0; b < n; b++) {
      long[] block = new long[dims.length];
      for (int d = 0; d < dims.length; d++) {
        block[d] = dims[d];
      }
      block[0] = dims[0] / n + (b < dims[0] % n ? 1 : 0);
      out.add(Shape.of(block));
    }
    return out;
  }

  /** Training replicas per step: {@link TfOptions#replicas()}, or 1 with batch normalization. */
  int replicas() {
    return replicatedHead.map(TrainHead::replicas).orElse(1);
  }

  /** The head for a batch: replicated when the batch splits evenly between the replicas. */
  TrainHead head(int batchSize) {
    return replicatedHead.filter(h -> batchSize % h.replicas() == 0).orElse(singleHead);
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
   * splits the batch into equal parts for the layers before the first dense layer (see {@link
   * Network#build(Ops, List, boolean)}); the loss and its gradient are over the whole batch, so it
   * is the same step as one pass, up to float rounding.
   */
  private final class TrainHeadBuilder {
    private final Network network;
    private final GraphOptimizer optimizer;
    private final List<Variable<TFloat32>> trainable;
    private final List<ParameterShape> owners;
    private final List<Variable<TFloat32>> anchors;

    TrainHeadBuilder(
        Network network,
        GraphOptimizer optimizer,
        List<Variable<TFloat32>> trainable,
        List<ParameterShape> owners,
        List<Variable<TFloat32>> anchors) {
      this.network = network;
      this.optimizer = optimizer;
      this.trainable = trainable;
      this.owners = owners;
      this.anchors = anchors;
    }

    TrainHead build(Ops tf, int parts) {
      Operand<TInt32> count = tf.squeeze(tf.shape(labels));
      List<Operand<TFloat32>> imageParts = List.of(images);
      if (parts > 1) {
        imageParts = List.copyOf(tf.split(tf.constant(0), images, (long) parts).output());
      }
      Network.Pass pass = network.build(tf, imageParts, true);
      List<Op> statisticUpdates = pass.statisticUpdates();
      SparseSoftmaxCrossEntropyWithLogits<TFloat32> crossEntropy =
          tf.nn.sparseSoftmaxCrossEntropyWithLogits(pass.logits(), labels);
      Operand<TFloat32> examples = tf.dtypes.cast(count, TFloat32.class);
      Operand<TFloat32> meanLoss =
          tf.withName("mean_loss").math.div(tf.sum(crossEntropy.loss(), tf.constant(0)), examples);
      Operand<TFloat32> correct =
          tf.sum(
              tf.dtypes.cast(
                  tf.math.equal(
                      tf.math.argMax(pass.logits(), tf.constant(1), TInt32.class), labels),
                  TFloat32.class),
              tf.constant(0));

      // The cross-entropy op computes ∂loss/∂logits itself; starting the backward pass there
      // skips the dozen small ops that differentiate the mean, all on the step's critical path
      // (and TensorFlow registers no gradient for the sparse op, which needs no one-hot labels).
      Operand<TFloat32> logitsGradient = tf.math.div(crossEntropy.backprop(), examples);
      List<Operand<TFloat32>> gradients =
          Backprop.gradients(graph, tf, pass, logitsGradient, trainable, owners);
      List<Operand<TFloat32>> proximalGradients = new ArrayList<>();
      for (int i = 0; i < gradients.size(); i++) {
        Operand<TFloat32> g = gradients.get(i);
        // FedProx: ∇(μ/2·‖w − w₀‖²) = μ·(w − w₀). A separate step, so plain training pays nothing.
        proximalGradients.add(
            tf.math.add(g, tf.math.mul(proximalMu, tf.math.sub(trainable.get(i), anchors.get(i)))));
      }
      Op step =
          step(
              tf,
              "step",
              statisticUpdates,
              optimizer.apply(allComputed(tf, gradients), learningRate));
      Op proximalStep =
          step(
              tf,
              "proximal_step",
              statisticUpdates,
              optimizer.apply(allComputed(tf, proximalGradients), learningRate));
      return new TrainHead(
          parts, step, proximalStep, meanLoss, tf.withName("correct").identity(correct));
    }
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
