package io.mnistfl.model;

import io.mnistfl.data.Augmentation;
import io.mnistfl.model.Layer.Activation;
import io.mnistfl.model.Layer.BatchNorm;
import io.mnistfl.model.Layer.Conv2D;
import io.mnistfl.model.Layer.Dense;
import io.mnistfl.model.Layer.Dropout;
import io.mnistfl.model.Layer.Flatten;
import io.mnistfl.model.Layer.Function;
import io.mnistfl.model.Layer.MaxPool;
import io.mnistfl.model.Layer.Padding;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * An immutable, validated description of a classifier and how to train it: input size, layers
 * (ending in the logits; softmax and cross-entropy are implied), optimizer, batch size, per-epoch
 * learning-rate decay, training augmentation and the seed for initial weights and shuffling.
 * Build one with {@link #builder()} or start from a preset ({@link #baseline()}, {@link
 * #regularized()}, {@link #mcmahanCnn()}).
 *
 * @param name a label for logs and saved models
 * @param inputHeight image height
 * @param inputWidth image width
 * @param numClasses number of classes (units of the last dense layer)
 * @param layers the network, input to logits
 * @param optimizer the local optimizer
 * @param batchSize examples per training step
 * @param learningRateDecay factor applied to the learning rate after every epoch (1 = constant)
 * @param augmentation random distortion of training images ({@link Augmentation#NONE} for none)
 * @param seed seed for initial weights, shuffling, dropout and augmentation
 */
public record ModelSpec(
    String name,
    int inputHeight,
    int inputWidth,
    int numClasses,
    List<Layer> layers,
    OptimizerSpec optimizer,
    int batchSize,
    double learningRateDecay,
    Augmentation augmentation,
    long seed) {

  public ModelSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(optimizer, "optimizer");
    Objects.requireNonNull(augmentation, "augmentation");
    layers = List.copyOf(layers);
    require(inputHeight > 0 && inputWidth > 0,
        "input size must be positive, was " + inputHeight + "x" + inputWidth);
    require(numClasses >= 2, "numClasses must be >= 2, was " + numClasses);
    require(batchSize > 0, "batchSize must be >= 1, was " + batchSize);
    require(learningRateDecay > 0 && learningRateDecay <= 1,
        "learningRateDecay must be in (0, 1], was " + learningRateDecay);
    inferParameters(inputHeight, inputWidth, numClasses, layers);
  }

  /** The paper's baseline: conv 32×3×3 → ReLU → max-pool → dense 100 ReLU → dense 10. */
  public static ModelSpec baseline() {
    return builder()
        .name("baseline")
        .conv(32, 3, Padding.VALID)
        .relu()
        .maxPool(2)
        .flatten()
        .dense(100)
        .relu()
        .logits(Initializer.GLOROT_UNIFORM)
        .optimizer(new OptimizerSpec.Sgd(0.01, 0.9, false))
        .build();
  }

  /**
   * The regularized network: two blocks of two batch-normalized 3×3 convolutions (32, then 64
   * filters) each followed by max-pooling and dropout, a batch-normalized dense layer of 256 with
   * dropout, data augmentation, Adam and learning-rate decay.
   */
  public static ModelSpec regularized() {
    return builder()
        .name("regularized")
        .conv(32, 3, Padding.SAME)
        .batchNorm()
        .relu()
        .conv(32, 3, Padding.SAME)
        .batchNorm()
        .relu()
        .maxPool(2)
        .dropout(0.25)
        .conv(64, 3, Padding.SAME)
        .batchNorm()
        .relu()
        .conv(64, 3, Padding.SAME)
        .batchNorm()
        .relu()
        .maxPool(2)
        .dropout(0.25)
        .flatten()
        .dense(256)
        .batchNorm()
        .relu()
        .dropout(0.4)
        .logits(Initializer.GLOROT_UNIFORM)
        .optimizer(OptimizerSpec.Adam.withLearningRate(0.002))
        .learningRateDecay(0.85)
        .augmentation(Augmentation.STANDARD)
        .batchSize(64)
        .build();
  }

  /**
   * The CNN of McMahan et al. 2017: conv 5×5×32 → pool → conv 5×5×64 → pool → dense 512 → dense 10
   * (1,663,370 parameters), plain SGD.
   */
  public static ModelSpec mcmahanCnn() {
    return builder()
        .name("mcmahan-cnn")
        .conv(32, 5, Padding.SAME)
        .relu()
        .maxPool(2)
        .conv(64, 5, Padding.SAME)
        .relu()
        .maxPool(2)
        .flatten()
        .dense(512)
        .relu()
        .logits(Initializer.GLOROT_UNIFORM)
        .optimizer(new OptimizerSpec.Sgd(0.05, 0, false))
        .batchSize(10)
        .build();
  }

  /** A preset by name: {@code baseline}, {@code regularized} or {@code mcmahan-cnn}. */
  public static ModelSpec preset(String name) {
    return switch (name) {
      case "baseline" -> baseline();
      case "regularized" -> regularized();
      case "mcmahan-cnn" -> mcmahanCnn();
      default -> throw new IllegalArgumentException(
          "unknown model preset '" + name + "', expected baseline, regularized or mcmahan-cnn");
    };
  }

  /** A builder with MNIST's input (28×28, 10 classes), batch 32, seed 42 and no augmentation. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this spec's values, for changing a few of them. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.name = name;
    b.inputHeight = inputHeight;
    b.inputWidth = inputWidth;
    b.numClasses = numClasses;
    b.layers.addAll(layers);
    b.optimizer = optimizer;
    b.batchSize = batchSize;
    b.learningRateDecay = learningRateDecay;
    b.augmentation = augmentation;
    b.seed = seed;
    return b;
  }

  /** This spec with another seed. */
  public ModelSpec withSeed(long newSeed) {
    return toBuilder().seed(newSeed).build();
  }

  /** Every variable the network has, in a fixed order. */
  public List<ParameterShape> parameters() {
    return inferParameters(inputHeight, inputWidth, numClasses, layers);
  }

  /** Number of trainable scalars. */
  public long trainableParameterCount() {
    return parameters().stream().filter(ParameterShape::trainable).mapToLong(ParameterShape::size)
        .sum();
  }

  /**
   * Initial weights from {@link #seed()}: kernels by their initializer, biases and β zero, γ and
   * moving variance one.
   */
  public Weights initialWeights() {
    SplittableRandom random = new SplittableRandom(seed);
    List<Weights.NamedArray> arrays = new ArrayList<>();
    int layerIndex = -1;
    String lastLayer = "";
    for (ParameterShape p : parameters()) {
      String layer = p.name().substring(0, p.name().indexOf('/'));
      if (!layer.equals(lastLayer)) {
        layerIndex = Integer.parseInt(layer.substring(layer.lastIndexOf('_') + 1));
        lastLayer = layer;
      }
      float[] values = new float[p.size()];
      String role = p.name().substring(p.name().indexOf('/') + 1);
      switch (role) {
        case "kernel" -> initializerOf(layers.get(layerIndex))
            .fill(values, p.fanIn(), p.fanOut(), random.split());
        case "gamma", "moving_variance" -> java.util.Arrays.fill(values, 1f);
        default -> {
          // bias, beta and moving_mean start at zero
        }
      }
      arrays.add(new Weights.NamedArray(p.name(), p.shape(), values));
    }
    return new Weights(arrays);
  }

  private static Initializer initializerOf(Layer layer) {
    if (layer instanceof Conv2D c) {
      return c.initializer();
    }
    return ((Dense) layer).initializer();
  }

  private static List<ParameterShape> inferParameters(
      int height, int width, int numClasses, List<Layer> layers) {
    require(!layers.isEmpty(), "a model needs at least one layer");
    List<ParameterShape> params = new ArrayList<>();
    int h = height;
    int w = width;
    int c = 1;
    int features = -1; // > 0 once flattened
    for (int i = 0; i < layers.size(); i++) {
      Layer layer = Objects.requireNonNull(layers.get(i), "layer " + i);
      String where = "layer " + i + " (" + layer + ")";
      if (layer instanceof Conv2D conv) {
        require(features < 0, where + ": a convolution cannot follow Flatten");
        require(conv.filters() > 0, where + ": filters must be > 0");
        require(conv.kernelSize() > 0, where + ": kernel size must be > 0");
        Objects.requireNonNull(conv.padding(), where + ": padding");
        Objects.requireNonNull(conv.initializer(), where + ": initializer");
        if (conv.padding() == Padding.VALID) {
          require(conv.kernelSize() <= h && conv.kernelSize() <= w,
              where + ": kernel " + conv.kernelSize() + " is larger than its input " + h + "x"
                  + w);
          h = h - conv.kernelSize() + 1;
          w = w - conv.kernelSize() + 1;
        }
        int k = conv.kernelSize();
        String n = "conv2d_" + i;
        params.add(new ParameterShape(n + "/kernel", new int[] {k, k, c, conv.filters()}, true,
            k * k * c, k * k * conv.filters()));
        params.add(new ParameterShape(n + "/bias", new int[] {conv.filters()}, true, 0, 0));
        c = conv.filters();
      } else if (layer instanceof MaxPool pool) {
        require(features < 0, where + ": pooling cannot follow Flatten");
        require(pool.size() >= 1, where + ": pool size must be >= 1");
        require(pool.size() <= h && pool.size() <= w,
            where + ": pool " + pool.size() + " is larger than its input " + h + "x" + w);
        h /= pool.size();
        w /= pool.size();
      } else if (layer instanceof Flatten) {
        require(features < 0, where + ": already flat");
        features = h * w * c;
      } else if (layer instanceof Dense dense) {
        require(features > 0, where + ": a dense layer needs Flatten before it");
        require(dense.units() > 0, where + ": units must be > 0");
        Objects.requireNonNull(dense.initializer(), where + ": initializer");
        String n = "dense_" + i;
        params.add(new ParameterShape(n + "/kernel", new int[] {features, dense.units()}, true,
            features, dense.units()));
        params.add(new ParameterShape(n + "/bias", new int[] {dense.units()}, true, 0, 0));
        features = dense.units();
      } else if (layer instanceof Activation a) {
        Objects.requireNonNull(a.function(), where + ": function");
      } else if (layer instanceof BatchNorm bn) {
        require(bn.momentum() >= 0 && bn.momentum() < 1,
            where + ": momentum must be in [0, 1), was " + bn.momentum());
        require(bn.epsilon() > 0, where + ": epsilon must be > 0, was " + bn.epsilon());
        int channels = features > 0 ? features : c;
        String n = "batchnorm_" + i;
        params.add(new ParameterShape(n + "/gamma", new int[] {channels}, true, 0, 0));
        params.add(new ParameterShape(n + "/beta", new int[] {channels}, true, 0, 0));
        params.add(new ParameterShape(n + "/moving_mean", new int[] {channels}, false, 0, 0));
        params.add(
            new ParameterShape(n + "/moving_variance", new int[] {channels}, false, 0, 0));
      } else if (layer instanceof Dropout d) {
        require(d.rate() >= 0 && d.rate() < 1,
          where + ": dropout rate must be in [0, 1), was " + d.rate());
      }
    }
    Layer last = layers.get(layers.size() - 1);
    require(last instanceof Dense d && d.units() == numClasses,
        "the last layer must be Dense with " + numClasses
            + " units (the logits; softmax is implied), was " + last);
    return List.copyOf(params);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException("invalid ModelSpec: " + message);
    }
  }

  /** Fluent construction of a {@link ModelSpec}; {@link #build()} validates. */
  public static final class Builder {
    private String name = "custom";
    private int inputHeight = 28;
    private int inputWidth = 28;
    private int numClasses = 10;
    private final List<Layer> layers = new ArrayList<>();
    private OptimizerSpec optimizer = new OptimizerSpec.Sgd(0.01, 0.9, false);
    private int batchSize = 32;
    private double learningRateDecay = 1.0;
    private Augmentation augmentation = Augmentation.NONE;
    private long seed = 42;

    private Builder() {}

    public Builder name(String value) {
      this.name = value;
      return this;
    }

    public Builder input(int height, int width) {
      this.inputHeight = height;
      this.inputWidth = width;
      return this;
    }

    public Builder numClasses(int value) {
      this.numClasses = value;
      return this;
    }

    /** Appends any layer. */
    public Builder layer(Layer layer) {
      layers.add(Objects.requireNonNull(layer, "layer"));
      return this;
    }

    /** Appends a He-uniform convolution. */
    public Builder conv(int filters, int kernelSize, Padding padding) {
      return layer(new Conv2D(filters, kernelSize, padding, Initializer.HE_UNIFORM));
    }

    public Builder maxPool(int size) {
      return layer(new MaxPool(size));
    }

    public Builder flatten() {
      return layer(new Flatten());
    }

    /** Appends a He-uniform dense layer. */
    public Builder dense(int units) {
      return layer(new Dense(units, Initializer.HE_UNIFORM));
    }

    public Builder relu() {
      return layer(new Activation(Function.RELU));
    }

    public Builder batchNorm() {
      return layer(BatchNorm.standard());
    }

    public Builder dropout(double rate) {
      return layer(new Dropout(rate));
    }

    /** Appends the output layer: dense with {@code numClasses} units. */
    public Builder logits(Initializer initializer) {
      return layer(new Dense(numClasses, initializer));
    }

    public Builder optimizer(OptimizerSpec value) {
      this.optimizer = value;
      return this;
    }

    public Builder batchSize(int value) {
      this.batchSize = value;
      return this;
    }

    public Builder learningRateDecay(double value) {
      this.learningRateDecay = value;
      return this;
    }

    public Builder augmentation(Augmentation value) {
      this.augmentation = value;
      return this;
    }

    public Builder seed(long value) {
      this.seed = value;
      return this;
    }

    /** Validates and builds. */
    public ModelSpec build() {
      return new ModelSpec(name, inputHeight, inputWidth, numClasses, layers, optimizer,
          batchSize, learningRateDecay, augmentation, seed);
    }
  }
}
