package io.mnistfl.tf;

import io.mnistfl.model.Layer;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.ParameterShape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.Output;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.linalg.MatMul;
import org.tensorflow.op.nn.FusedBatchNorm;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt64;

/**
 * The forward pass of a {@link ModelSpec}'s layers over shared variables. Built twice per graph:
 * once for training (batch statistics, dropout, moving-average updates) and once for inference.
 * Every layer kind is built by one method of a {@link Layer.Visitor}, and every variable is found
 * through the spec's {@link ParameterShape}s, whose names are made in one place.
 */
final class Network {
  private final ModelSpec spec;
  private final Map<String, List<Variable<TFloat32>>> variables;
  private final Operand<TInt64> dropoutSeed;

  /**
   * @param variables each parameter's variables by name: one, or row blocks of a large dense kernel
   * @param dropoutSeed the stateless seed pair of a training step's dropout masks, fed per step so
   *     that a step's masks depend on the fit's seed and the step only
   */
  Network(
      ModelSpec spec,
      Map<String, List<Variable<TFloat32>>> variables,
      Operand<TInt64> dropoutSeed) {
    this.spec = spec;
    this.variables = variables;
    this.dropoutSeed = dropoutSeed;
  }

  /**
   * The logits of a training or inference pass, (training) the moving-average updates, and the
   * convolutions whose backward pass {@link Backprop} builds by hand, in layer order.
   */
  record Pass(Operand<TFloat32> logits, List<Op> statisticUpdates, List<Cut> cuts) {}

  /**
   * A {@link FeatureConv} of layer {@code layer}: its kernel and padding, and each part's input and
   * output before the bias.
   */
  record Cut(
      int layer,
      Variable<TFloat32> kernel,
      String padding,
      List<Operand<TFloat32>> inputs,
      List<Operand<TFloat32>> outputs) {}

  /** The pass over one batch of {@code images}. */
  Pass build(Ops tf, Operand<TFloat32> images, boolean training) {
    return build(tf, List.of(images), training);
  }

  /**
   * The pass over a batch given in parts: the layers before the first dense layer run on each part
   * on its own (concurrently); the first dense layer joins the parts and the dense layers run on
   * the whole batch. Dense kernels are the largest variables: one product over the whole batch
   * costs less than one per part plus summing the parts' kernel gradients.
   */
  Pass build(Ops tf, List<Operand<TFloat32>> parts, boolean training) {
    Builder builder = new Builder(tf, parts, training);
    List<Layer> layers = spec.layers();
    for (builder.index = 0; builder.index < layers.size(); builder.index++) {
      builder.parts = layers.get(builder.index).accept(builder);
    }
    return new Pass(builder.parts.get(0), builder.updates, List.copyOf(builder.cuts));
  }

  /** Builds each layer kind over the batch's parts, layer by layer. */
  private final class Builder implements Layer.Visitor<List<Operand<TFloat32>>> {
    private final Ops tf;
    private final boolean training;
    private final List<Op> updates = new ArrayList<>();
    private final List<Cut> cuts = new ArrayList<>();
    private List<Operand<TFloat32>> parts;
    private int index;

    /** Whether the parts are still the images, computed without any variable. */
    private boolean rawInput = true;

    Builder(Ops tf, List<Operand<TFloat32>> parts, boolean training) {
      this.tf = tf;
      this.parts = new ArrayList<>(parts);
      this.training = training;
    }

    /** Applies {@code op} to every part, each in its own scope when there are several. */
    private List<Operand<TFloat32>> each(PartOp op) {
      List<Operand<TFloat32>> out = new ArrayList<>(parts.size());
      for (int r = 0; r < parts.size(); r++) {
        Ops part = parts.size() > 1 ? tf.withSubScope("replica_" + r) : tf;
        out.add(op.apply(part, parts.get(r), r));
      }
      return out;
    }

    @Override
    public List<Operand<TFloat32>> conv2d(Layer.Conv2D conv) {
      Variable<TFloat32> kernel = variable(index, ParameterShape.Role.KERNEL);
      Variable<TFloat32> bias = variable(index, ParameterShape.Role.BIAS);
      String padding = conv.padding().name();
      boolean patches = rawInput && kernel.shape().get(2) == 1;
      rawInput = false;
      if (patches) {
        return each((t, x, r) -> patchConv(t, x, kernel, bias, padding));
      }
      List<Operand<TFloat32>> inputs = List.copyOf(parts);
      List<Operand<TFloat32>> outputs =
          each((t, x, r) -> FeatureConv.forward(t, x, kernel, padding));
      cuts.add(new Cut(index, kernel, padding, inputs, outputs));
      parts = new ArrayList<>(outputs);
      return each((t, z, r) -> t.nn.biasAdd(z, bias));
    }

    @Override
    public List<Operand<TFloat32>> maxPool(Layer.MaxPool pool) {
      return each((t, x, r) -> Network.maxPool(t, x, pool.size()));
    }

    @Override
    public List<Operand<TFloat32>> flatten(Layer.Flatten flatten) {
      int features = flatSize(index);
      return each((t, x, r) -> t.reshape(x, t.constant(new int[] {-1, features})));
    }

    @Override
    public List<Operand<TFloat32>> dense(Layer.Dense dense) {
      rawInput = false;
      return new ArrayList<>(
          List.of(
              tf.nn.biasAdd(
                  product(tf, parts, shards(index, ParameterShape.Role.KERNEL)),
                  variable(index, ParameterShape.Role.BIAS))));
    }

    @Override
    public List<Operand<TFloat32>> activation(Layer.Activation a) {
      List<Layer> layers = spec.layers();
      if (a.function() == Layer.Function.RELU
          && index + 1 < layers.size()
          && layers.get(index + 1) instanceof Layer.MaxPool pool) {
        // relu(maxpool(x)) = maxpool(relu(x)) as relu is monotonic: pooling first makes the
        // relu and its gradient work on a quarter of the values. Same result, same gradients.
        index++;
        return each((t, x, r) -> t.nn.relu(Network.maxPool(t, x, pool.size())));
      }
      return each(
          (t, x, r) ->
              switch (a.function()) {
                case RELU -> t.nn.relu(x);
                case TANH -> t.math.tanh(x);
                case SIGMOID -> t.math.sigmoid(x);
              });
    }

    @Override
    public List<Operand<TFloat32>> batchNorm(Layer.BatchNorm bn) {
      rawInput = false;
      int features = spec.parametersOf(index).get(0).shape()[0];
      boolean flat = isFlat(index);
      return each(
          (t, x, r) ->
              Network.this.batchNorm(t, x, index, bn, flat ? features : -1, training, updates));
    }

    @Override
    public List<Operand<TFloat32>> dropout(Layer.Dropout d) {
      int layer = index;
      return training && d.rate() > 0
          ? each((t, x, r) -> Network.this.dropout(t, x, d.rate(), layer, r))
          : parts;
    }
  }

  /** One layer's op on one part of the batch. */
  private interface PartOp {
    Operand<TFloat32> apply(Ops tf, Operand<TFloat32> x, int replica);
  }

  /**
   * A convolution plus bias as one matrix product over the input's patches (im2col), for a
   * one-channel input that needs no gradient. oneDNN's convolution kernels are slow with one input
   * channel: for 16 MNIST images the baseline's filter gradient took 0.4 ms as a convolution op.
   * Only the kernel is differentiated, so the patches are gathered once, forward, as shifted
   * slices, and the kernel's gradient is a single product.
   */
  static Operand<TFloat32> patchConv(
      Ops tf,
      Operand<TFloat32> x,
      Variable<TFloat32> kernel,
      Variable<TFloat32> bias,
      String padding) {
    long[] k = kernel.shape().asArray(); // [height, width, in channels, filters]
    long[] in = x.shape().asArray(); // [batch, height, width, channels]
    Operand<TFloat32> input = x;
    long height = in[1] - k[0] + 1;
    long width = in[2] - k[1] + 1;
    if (padding.equals("SAME")) {
      input =
          tf.pad(
              x,
              tf.constant(
                  new int[][] {
                    {0, 0},
                    {(int) (k[0] - 1) / 2, (int) k[0] / 2},
                    {(int) (k[1] - 1) / 2, (int) k[1] / 2},
                    {0, 0}
                  }),
              tf.constant(0f));
      height = in[1];
      width = in[2];
    }
    List<Operand<TFloat32>> shifted = new ArrayList<>();
    for (long dy = 0; dy < k[0]; dy++) {
      for (long dx = 0; dx < k[1]; dx++) {
        shifted.add(
            tf.slice(
                input,
                tf.constant(new long[] {0, dy, dx, 0}),
                tf.constant(new long[] {-1, height, width, -1})));
      }
    }
    // A row of ones against a row of biases adds the bias inside the product.
    shifted.add(tf.onesLike(shifted.get(0)));
    long patch = k[0] * k[1] + 1;
    // [patch, batch · height · width]: each shift is a contiguous block of the concatenation.
    Operand<TFloat32> patches =
        tf.reshape(tf.concat(shifted, tf.constant(0)), tf.constant(new long[] {patch, -1}));
    Operand<TFloat32> weights =
        tf.concat(
            List.of(
                tf.reshape(kernel, tf.constant(new long[] {patch - 1, k[3]})),
                tf.reshape(bias, tf.constant(new long[] {1, k[3]}))),
            tf.constant(0));
    Operand<TFloat32> product = tf.linalg.matMul(patches, weights, MatMul.transposeA(true));
    return tf.reshape(product, tf.constant(new long[] {-1, height, width, k[3]}));
  }

  /**
   * Max pooling with the window as attributes (the {@code MaxPool} op). The generated {@code
   * tf.nn.maxPool} builds {@code MaxPoolV2}, whose gradient has no oneDNN kernel and took 3 ms of a
   * 7.5 ms baseline training step.
   */
  @SuppressWarnings("unchecked")
  private static Operand<TFloat32> maxPool(Ops tf, Operand<TFloat32> x, int k) {
    long[] window = {1, k, k, 1};
    return (Operand<TFloat32>)
        (Operand<?>)
            tf.scope()
                .opBuilder("MaxPool", "MaxPool")
                .addInput(x.asOutput())
                .setAttr("ksize", window)
                .setAttr("strides", window)
                .setAttr("padding", "VALID")
                .build()
                .output(0);
  }

  /**
   * {@code x · kernel} for a batch {@code x} in row parts and a kernel in row blocks: the sum over
   * blocks of x's matching columns times the block. Each part is cut into the blocks' column ranges
   * and each block's columns are joined across parts, so the cuts and joins (and their gradients)
   * are small ops that run side by side instead of whole-batch copies in a row.
   */
  private static Operand<TFloat32> product(
      Ops tf, List<Operand<TFloat32>> parts, List<Variable<TFloat32>> kernel) {
    int[] rows = kernel.stream().mapToInt(k -> (int) k.shape().get(0)).toArray();
    List<List<Output<TFloat32>>> columns = new ArrayList<>();
    for (Operand<TFloat32> part : parts) {
      columns.add(
          rows.length == 1
              ? List.of(part.asOutput())
              : tf.splitV(part, tf.constant(rows), tf.constant(1), (long) rows.length).output());
    }
    List<Operand<TFloat32>> products = new ArrayList<>();
    for (int b = 0; b < rows.length; b++) {
      int block = b;
      List<Operand<TFloat32>> blockColumns =
          columns.stream().<Operand<TFloat32>>map(c -> c.get(block)).toList();
      Operand<TFloat32> x =
          blockColumns.size() == 1 ? blockColumns.get(0) : tf.concat(blockColumns, tf.constant(0));
      products.add(tf.linalg.matMul(x, kernel.get(b)));
    }
    return products.size() == 1 ? products.get(0) : tf.math.addN(products);
  }

  private List<Variable<TFloat32>> shards(int layer, ParameterShape.Role role) {
    for (ParameterShape p : spec.parametersOf(layer)) {
      if (p.role() == role) {
        List<Variable<TFloat32>> v = variables.get(p.name());
        if (v == null) {
          throw new IllegalStateException("graph has no variable " + p.name());
        }
        return v;
      }
    }
    throw new IllegalStateException("layer " + layer + " has no " + role);
  }

  private Variable<TFloat32> variable(int layer, ParameterShape.Role role) {
    List<Variable<TFloat32>> v = shards(layer, role);
    if (v.size() != 1) {
      throw new IllegalStateException(
          "layer " + layer + "'s " + role + " is held in " + v.size() + " blocks");
    }
    return v.get(0);
  }

  /** Features after flattening at layer {@code flattenIndex}, from the spec's shape inference. */
  private int flatSize(int flattenIndex) {
    // The first dense layer after Flatten has kernel [features, units]; validation guarantees one.
    for (int j = flattenIndex + 1; j < spec.layers().size(); j++) {
      if (spec.layers().get(j) instanceof Layer.Dense) {
        return spec.parametersOf(j).get(0).shape()[0];
      }
    }
    throw new IllegalStateException(
        "Flatten at layer " + flattenIndex + " has no dense layer after it");
  }

  /** Whether layer {@code index} sees a flat vector: a Flatten comes before it. */
  private boolean isFlat(int index) {
    return spec.layers().subList(0, index).stream().anyMatch(Layer.Flatten.class::isInstance);
  }

  /**
   * Batch normalization: over the batch's statistics when training, else over the moving ones as
   * {@code x·s + (β − μ·s)} with {@code s = γ / √(σ² + ε)}, per channel. oneDNN's inference batch
   * norm took 70 ms per layer for 500 images of the regularized model here, 80 % of its test-set
   * pass; the product and sum take a few.
   *
   * @param features the vector length for a flat input, else -1
   */
  private Operand<TFloat32> batchNorm(
      Ops tf,
      Operand<TFloat32> x,
      int layer,
      Layer.BatchNorm bn,
      int features,
      boolean training,
      List<Op> updates) {
    if (!training) {
      return inferenceBatchNorm(
          tf,
          x,
          variable(layer, ParameterShape.Role.GAMMA),
          variable(layer, ParameterShape.Role.BETA),
          variable(layer, ParameterShape.Role.MOVING_MEAN),
          variable(layer, ParameterShape.Role.MOVING_VARIANCE),
          (float) bn.epsilon());
    }
    boolean flat = features > 0;
    Operand<TFloat32> input = flat ? tf.reshape(x, tf.constant(new int[] {-1, 1, 1, features})) : x;
    Variable<TFloat32> movingMean = variable(layer, ParameterShape.Role.MOVING_MEAN);
    Variable<TFloat32> movingVariance = variable(layer, ParameterShape.Role.MOVING_VARIANCE);
    FusedBatchNorm<TFloat32, TFloat32> norm =
        tf.nn.fusedBatchNorm(
            input,
            variable(layer, ParameterShape.Role.GAMMA),
            variable(layer, ParameterShape.Role.BETA),
            movingMean,
            movingVariance,
            FusedBatchNorm.epsilon((float) bn.epsilon()),
            FusedBatchNorm.isTraining(training),
            FusedBatchNorm.dataFormat("NHWC"));
    if (training) {
      Operand<TFloat32> keep = tf.constant((float) bn.momentum());
      Operand<TFloat32> take = tf.constant((float) (1 - bn.momentum()));
      updates.add(
          tf.assign(
              movingMean,
              tf.math.add(
                  tf.math.mul(movingMean, keep),
                  tf.math.mul(tf.stopGradient(norm.batchMean()), take))));
      updates.add(
          tf.assign(
              movingVariance,
              tf.math.add(
                  tf.math.mul(movingVariance, keep),
                  tf.math.mul(tf.stopGradient(norm.batchVariance()), take))));
    }
    Operand<TFloat32> y = norm.y();
    return flat ? tf.reshape(y, tf.constant(new int[] {-1, features})) : y;
  }

  /** {@code x·s + (β − μ·s)} with {@code s = γ / √(σ² + ε)}, over the last axis. */
  static Operand<TFloat32> inferenceBatchNorm(
      Ops tf,
      Operand<TFloat32> x,
      Operand<TFloat32> gamma,
      Operand<TFloat32> beta,
      Operand<TFloat32> mean,
      Operand<TFloat32> variance,
      float epsilon) {
    Operand<TFloat32> scale =
        tf.math.mul(gamma, tf.math.rsqrt(tf.math.add(variance, tf.constant(epsilon))));
    Operand<TFloat32> offset = tf.math.sub(beta, tf.math.mul(mean, scale));
    return tf.math.add(tf.math.mul(x, scale), offset);
  }

  /**
   * Inverted dropout: {@code floor(keep + U[0,1)) · x / keep}. The uniform values are stateless,
   * from the step's fed seed pair offset by layer and replica, so a step's masks depend only on the
   * fit's seed and the step, never on what the graph ran before: the same for any worker.
   */
  private Operand<TFloat32> dropout(
      Ops tf, Operand<TFloat32> x, double rate, int layerIndex, int replica) {
    float keep = (float) (1 - rate);
    Operand<TInt64> seed =
        tf.math.add(dropoutSeed, tf.constant(new long[] {0, replica * 10_000L + layerIndex + 1}));
    Operand<TFloat32> uniform =
        tf.random.statelessRandomUniform(tf.stopGradient(tf.shape(x)), seed, TFloat32.class);
    Operand<TFloat32> mask = tf.math.floor(tf.math.add(uniform, tf.constant(keep)));
    return tf.math.mul(x, tf.math.mul(mask, tf.constant(1f / keep)));
  }

  @Override
  public String toString() {
    return "Network" + Arrays.toString(spec.layers().toArray());
  }
}
