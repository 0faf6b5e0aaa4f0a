package io.mnistfl.tf;

import io.mnistfl.model.Layer;
import io.mnistfl.model.ModelSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.tensorflow.Operand;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Variable;
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
  private final Map<String, Variable<TFloat32>> variables;

  Network(ModelSpec spec, Map<String, Variable<TFloat32>> variables) {
    this.spec = spec;
    this.variables = variables;
  }

  /** The logits of a training or inference pass, and (training) the moving-average updates. */
  record Pass(Operand<TFloat32> logits, List<Op> statisticUpdates) {}

  /**
   * The pass over {@code images}; {@code replica} tells apart the dropout masks of replicas that
   * train on parts of one batch.
   */
  Pass build(Ops tf, Operand<TFloat32> images, boolean training, int replica) {
    Operand<TFloat32> x = images;
    List<Op> updates = new ArrayList<>();
    List<Layer> layers = spec.layers();
    int features = -1;
    for (int i = 0; i < layers.size(); i++) {
      Layer layer = layers.get(i);
      if (layer instanceof Layer.Conv2D conv) {
        String n = "conv2d_" + i;
        x = tf.nn.biasAdd(
            tf.nn.conv2d(x, var(n + "/kernel"), UNIT_STRIDES, conv.padding().name()),
            var(n + "/bias"));
      } else if (layer instanceof Layer.MaxPool pool) {
        x = maxPool(tf, x, pool.size());
      } else if (layer instanceof Layer.Flatten) {
        features = flatSize(i);
        x = tf.reshape(x, tf.constant(new int[] {-1, features}));
      } else if (layer instanceof Layer.Dense dense) {
        String n = "dense_" + i;
        x = tf.nn.biasAdd(tf.linalg.matMul(x, var(n + "/kernel")), var(n + "/bias"));
        features = dense.units();
      } else if (layer instanceof Layer.Activation a) {
        if (a.function() == Layer.Function.RELU && i + 1 < layers.size()
            && layers.get(i + 1) instanceof Layer.MaxPool pool) {
          // relu(maxpool(x)) = maxpool(relu(x)) as relu is monotonic: pooling first makes the
          // relu and its gradient work on a quarter of the values. Same result, same gradients.
          x = tf.nn.relu(maxPool(tf, x, pool.size()));
          i++;
          continue;
        }
        x = switch (a.function()) {
          case RELU -> tf.nn.relu(x);
          case TANH -> tf.math.tanh(x);
          case SIGMOID -> tf.math.sigmoid(x);
        };
      } else if (layer instanceof Layer.BatchNorm bn) {
        x = batchNorm(tf, x, "batchnorm_" + i, bn, features, training, updates);
      } else if (layer instanceof Layer.Dropout d) {
        if (training && d.rate() > 0) {
          x = dropout(tf, x, d.rate(), i, replica);
        }
      } else {
        throw new IllegalStateException("no TensorFlow builder for " + layer);
      }
    }
    return new Pass(x, updates);
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

  private Variable<TFloat32> var(String name) {
    Variable<TFloat32> v = variables.get(name);
    if (v == null) {
      throw new IllegalStateException("graph has no variable " + name);
    }
    return v;
  }

  /** Features after flattening at layer {@code flattenIndex}, from the spec's shape inference. */
  private int flatSize(int flattenIndex) {
    // The first dense layer after Flatten has kernel [features, units]; validation guarantees one.
    for (int j = flattenIndex + 1; j < spec.layers().size(); j++) {
      if (spec.layers().get(j) instanceof Layer.Dense) {
        return (int) var("dense_" + j + "/kernel").shape().get(0);
      }
    }
    throw new IllegalStateException("Flatten at layer " + flattenIndex + " has no dense layer after it");
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
