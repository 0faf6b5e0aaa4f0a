package io.mnistfl.tf;

import io.mnistfl.model.Layer;
import io.mnistfl.model.ModelSpec;
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
import org.tensorflow.op.random.RandomUniform;
import org.tensorflow.types.TFloat32;

/**
 * The forward pass of a {@link ModelSpec}'s layers over shared variables. Built twice per graph:
 * once for training (batch statistics, dropout, moving-average updates) and once for inference.
 */
final class Network {
  private static final List<Long> UNIT_STRIDES = List.of(1L, 1L, 1L, 1L);

  private final ModelSpec spec;
  private final Map<String, List<Variable<TFloat32>>> variables;

  /** @param variables each parameter's variables: one, or row blocks of a large dense kernel */
  Network(ModelSpec spec, Map<String, List<Variable<TFloat32>>> variables) {
    this.spec = spec;
    this.variables = variables;
  }

  /** The logits of a training or inference pass, and (training) the moving-average updates. */
  record Pass(Operand<TFloat32> logits, List<Op> statisticUpdates) {}

  /** The pass over one batch of {@code images}. */
  Pass build(Ops tf, Operand<TFloat32> images, boolean training) {
    return build(tf, List.of(images), training);
  }

  /**
   * The pass over a batch given in parts: the layers before the first dense layer run on each
   * part on its own (concurrently); the first dense layer joins the parts and the dense layers run
   * on the whole batch. Dense kernels are the largest variables: one product over the whole batch
   * costs less than one per part plus summing the parts' kernel gradients.
   */
  Pass build(Ops tf, List<Operand<TFloat32>> parts, boolean training) {
    List<Operand<TFloat32>> xs = new ArrayList<>(parts);
    List<Op> updates = new ArrayList<>();
    List<Layer> layers = spec.layers();
    int features = -1;
    boolean rawInput = true;
    for (int i = 0; i < layers.size(); i++) {
      Layer layer = layers.get(i);
      if (layer instanceof Layer.Dense dense) {
        String n = "dense_" + i;
        xs = new ArrayList<>(List.of(tf.nn.biasAdd(product(tf, xs, shards(n + "/kernel")),
            var(n + "/bias"))));
        features = dense.units();
        rawInput = false;
        continue;
      }
      boolean reluThenPool = layer instanceof Layer.Activation a
          && a.function() == Layer.Function.RELU && i + 1 < layers.size()
          && layers.get(i + 1) instanceof Layer.MaxPool;
      if (layer instanceof Layer.Flatten) {
        features = flatSize(i);
      }
      for (int r = 0; r < xs.size(); r++) {
        Ops part = xs.size() > 1 ? tf.withSubScope("replica_" + r) : tf;
        Operand<TFloat32> x = xs.get(r);
        if (reluThenPool) {
          // relu(maxpool(x)) = maxpool(relu(x)) as relu is monotonic: pooling first makes the
          // relu and its gradient work on a quarter of the values. Same result, same gradients.
          x = part.nn.relu(maxPool(part, x, ((Layer.MaxPool) layers.get(i + 1)).size()));
        } else {
          x = layer(part, layer, i, x, features, training, r, updates, rawInput);
        }
        xs.set(r, x);
      }
      if (layer instanceof Layer.Conv2D || layer instanceof Layer.BatchNorm) {
        rawInput = false;
      }
      if (reluThenPool) {
        i++;
      }
    }
    return new Pass(xs.get(0), updates);
  }

  /** @param rawInput whether {@code x} is computed from the images without any variable */
  private Operand<TFloat32> layer(Ops tf, Layer layer, int i, Operand<TFloat32> x, int features,
      boolean training, int replica, List<Op> updates, boolean rawInput) {
    if (layer instanceof Layer.Conv2D conv) {
      String n = "conv2d_" + i;
      Variable<TFloat32> kernel = var(n + "/kernel");
      Variable<TFloat32> bias = var(n + "/bias");
      String padding = conv.padding().name();
      return rawInput && kernel.shape().get(2) == 1 ? patchConv(tf, x, kernel, bias, padding)
          : tf.nn.biasAdd(tf.nn.conv2d(x, kernel, UNIT_STRIDES, padding), bias);
    } else if (layer instanceof Layer.MaxPool pool) {
      return maxPool(tf, x, pool.size());
    } else if (layer instanceof Layer.Flatten) {
      return tf.reshape(x, tf.constant(new int[] {-1, features}));
    } else if (layer instanceof Layer.Activation a) {
      return switch (a.function()) {
        case RELU -> tf.nn.relu(x);
        case TANH -> tf.math.tanh(x);
        case SIGMOID -> tf.math.sigmoid(x);
      };
    } else if (layer instanceof Layer.BatchNorm bn) {
      return batchNorm(tf, x, "batchnorm_" + i, bn, features, training, updates);
    } else if (layer instanceof Layer.Dropout d) {
      return training && d.rate() > 0 ? dropout(tf, x, d.rate(), i, replica) : x;
    }
    throw new IllegalStateException("no TensorFlow builder for " + layer);
  }

  /**
   * A convolution plus bias as one matrix product over the input's patches (im2col), for a
   * one-channel input that needs no gradient. oneDNN's convolution kernels are slow with one input
   * channel: for 16 MNIST images the baseline's filter gradient took 0.4 ms as a convolution op.
   * Only the kernel is differentiated, so the patches are gathered once, forward, as shifted
   * slices, and the kernel's gradient is a single product.
   */
  static Operand<TFloat32> patchConv(Ops tf, Operand<TFloat32> x,
      Variable<TFloat32> kernel, Variable<TFloat32> bias, String padding) {
    long[] k = kernel.shape().asArray(); // [height, width, in channels, filters]
    long[] in = x.shape().asArray(); // [batch, height, width, channels]
    Operand<TFloat32> input = x;
    long height = in[1] - k[0] + 1;
    long width = in[2] - k[1] + 1;
    if (padding.equals("SAME")) {
      input = tf.pad(x, tf.constant(new int[][] {{0, 0}, {(int) (k[0] - 1) / 2, (int) k[0] / 2},
          {(int) (k[1] - 1) / 2, (int) k[1] / 2}, {0, 0}}), tf.constant(0f));
      height = in[1];
      width = in[2];
    }
    List<Operand<TFloat32>> shifted = new ArrayList<>();
    for (long dy = 0; dy < k[0]; dy++) {
      for (long dx = 0; dx < k[1]; dx++) {
        shifted.add(tf.slice(input, tf.constant(new long[] {0, dy, dx, 0}),
            tf.constant(new long[] {-1, height, width, -1})));
      }
    }
    // A row of ones against a row of biases adds the bias inside the product.
    shifted.add(tf.onesLike(shifted.get(0)));
    long patch = k[0] * k[1] + 1;
    // [patch, batch · height · width]: each shift is a contiguous block of the concatenation.
    Operand<TFloat32> patches = tf.reshape(tf.concat(shifted, tf.constant(0)),
        tf.constant(new long[] {patch, -1}));
    Operand<TFloat32> weights = tf.concat(List.of(
        tf.reshape(kernel, tf.constant(new long[] {patch - 1, k[3]})),
        tf.reshape(bias, tf.constant(new long[] {1, k[3]}))), tf.constant(0));
    Operand<TFloat32> product = tf.linalg.matMul(patches, weights, MatMul.transposeA(true));
    return tf.reshape(product, tf.constant(new long[] {-1, height, width, k[3]}));
  }

  /**
   * Max pooling with the window as attributes (the {@code MaxPool} op). The generated {@code
   * tf.nn.maxPool} builds {@code MaxPoolV2}, whose gradient has no oneDNN kernel and took 3 ms of
   * a 7.5 ms baseline training step.
   */
  @SuppressWarnings("unchecked")
  private static Operand<TFloat32> maxPool(Ops tf, Operand<TFloat32> x, int k) {
    long[] window = {1, k, k, 1};
    return (Operand<TFloat32>) (Operand<?>) tf.scope().opBuilder("MaxPool", "MaxPool")
        .addInput(x.asOutput())
        .setAttr("ksize", window)
        .setAttr("strides", window)
        .setAttr("padding", "VALID")
        .build()
        .output(0);
  }

  /**
   * {@code x · kernel} for a batch {@code x} in row parts and a kernel in row blocks: the sum over
   * blocks of x's matching columns times the block. Each part is cut into the blocks' column
   * ranges and each block's columns are joined across parts, so the cuts and joins (and their
   * gradients) are small ops that run side by side instead of whole-batch copies in a row.
   */
  private static Operand<TFloat32> product(Ops tf, List<Operand<TFloat32>> parts,
      List<Variable<TFloat32>> kernel) {
    int[] rows = kernel.stream().mapToInt(k -> (int) k.shape().get(0)).toArray();
    List<List<Output<TFloat32>>> columns = new ArrayList<>();
    for (Operand<TFloat32> part : parts) {
      columns.add(rows.length == 1 ? List.of(part.asOutput())
          : tf.splitV(part, tf.constant(rows), tf.constant(1), (long) rows.length).output());
    }
    List<Operand<TFloat32>> products = new ArrayList<>();
    for (int b = 0; b < rows.length; b++) {
      int block = b;
      List<Operand<TFloat32>> blockColumns = columns.stream()
          .<Operand<TFloat32>>map(c -> c.get(block)).toList();
      Operand<TFloat32> x = blockColumns.size() == 1 ? blockColumns.get(0)
          : tf.concat(blockColumns, tf.constant(0));
      products.add(tf.linalg.matMul(x, kernel.get(b)));
    }
    return products.size() == 1 ? products.get(0) : tf.math.addN(products);
  }

  private List<Variable<TFloat32>> shards(String name) {
    List<Variable<TFloat32>> v = variables.get(name);
    if (v == null) {
      throw new IllegalStateException("graph has no variable " + name);
    }
    return v;
  }

  private Variable<TFloat32> var(String name) {
    List<Variable<TFloat32>> v = shards(name);
    if (v.size() != 1) {
      throw new IllegalStateException(name + " is held in " + v.size() + " blocks");
    }
    return v.get(0);
  }

  /** Features after flattening at layer {@code flattenIndex}, from the spec's shape inference. */
  private int flatSize(int flattenIndex) {
    // The first dense layer after Flatten has kernel [features, units]; validation guarantees one.
    for (int j = flattenIndex + 1; j < spec.layers().size(); j++) {
      if (spec.layers().get(j) instanceof Layer.Dense) {
        return (int) shards("dense_" + j + "/kernel").stream()
            .mapToLong(block -> block.shape().get(0)).sum();
      }
    }
    throw new IllegalStateException(
        "Flatten at layer " + flattenIndex + " has no dense layer after it");
  }

  private Operand<TFloat32> batchNorm(Ops tf, Operand<TFloat32> x, String n, Layer.BatchNorm bn,
      int features, boolean training, List<Op> updates) {
    boolean flat = features > 0;
    Operand<TFloat32> input = flat ? tf.reshape(x, tf.constant(new int[] {-1, 1, 1, features})) : x;
    Variable<TFloat32> movingMean = var(n + "/moving_mean");
    Variable<TFloat32> movingVariance = var(n + "/moving_variance");
    FusedBatchNorm<TFloat32, TFloat32> norm = tf.nn.fusedBatchNorm(input, var(n + "/gamma"),
        var(n + "/beta"), movingMean, movingVariance,
        FusedBatchNorm.epsilon((float) bn.epsilon()), FusedBatchNorm.isTraining(training),
        FusedBatchNorm.dataFormat("NHWC"));
    if (training) {
      Operand<TFloat32> keep = tf.constant((float) bn.momentum());
      Operand<TFloat32> take = tf.constant((float) (1 - bn.momentum()));
      updates.add(tf.assign(movingMean, tf.math.add(tf.math.mul(movingMean, keep),
          tf.math.mul(tf.stopGradient(norm.batchMean()), take))));
      updates.add(tf.assign(movingVariance, tf.math.add(tf.math.mul(movingVariance, keep),
          tf.math.mul(tf.stopGradient(norm.batchVariance()), take))));
    }
    Operand<TFloat32> y = norm.y();
    return flat ? tf.reshape(y, tf.constant(new int[] {-1, features})) : y;
  }

  /** Inverted dropout: {@code floor(keep + U[0,1)) · x / keep}, seeded per layer and replica. */
  private Operand<TFloat32> dropout(Ops tf, Operand<TFloat32> x, double rate, int layerIndex,
      int replica) {
    float keep = (float) (1 - rate);
    Operand<TFloat32> uniform = tf.random.randomUniform(tf.shape(x), TFloat32.class,
        RandomUniform.seed(spec.seed()), RandomUniform.seed2(replica * 10_000L + layerIndex + 1));
    Operand<TFloat32> mask = tf.math.floor(tf.math.add(uniform, tf.constant(keep)));
    return tf.math.mul(x, tf.math.mul(mask, tf.constant(1f / keep)));
  }

  @Override
  public String toString() {
    return "Network" + Arrays.toString(spec.layers().toArray());
  }
}
