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
 * learning-rate decay, training augmentation and the seed for initial weights and shuffling. Build
 * one with {@link #builder()} or start from a preset ({@link #baseline()}, {@link #regularized()},
 * {@link #mcmahanCnn()}).
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

  /**
   * Validates the values and checks that the layers fit the input and end in the logits.
   *
   * @param name a label for logs and saved models
   * @param inputHeight image height
   * @param inputWidth image width
   * @param numClasses number of classes
   * @param layers the network, input to logits
   * @param optimizer the local optimizer
   * @param batchSize examples per training step
   * @param learningRateDecay per-epoch learning-rate factor, in (0, 1]
   * @param augmentation random distortion of training images
   * @param seed seed for initial weights, shuffling, dropout and augmentation
   * @throws IllegalArgumentException naming the first value out of range or layer that does not fit
   */
  public ModelSpec {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(optimizer, "optimizer");
    Objects.requireNonNull(augmentation, "augmentation");
    layers = List.copyOf(layers);
    require(
        inputHeight > 0 && inputWidth > 0,
        "input size must be positive, was " + inputHeight + "x" + inputWidth);
    require(numClasses >= 2, "numClasses must be >= 2, was " + numClasses);
    require(batchSize > 0, "batchSize must be >= 1, was " + batchSize);
    require(
        learningRateDecay > 0 && learningRateDecay <= 1,
        "learningRateDecay must be in (0, 1], was " + learningRateDecay);
    inferParameters(inputHeight, inputWidth, numClasses, layers);
  }

  /**
   * The most parameters (all variables' values together) a model may have: 200 million, 800 MB of
   * float32. A model's weights travel as one message and are held several times over by a server,
   * so larger specs are refused when they are made, with the count, rather than failing later.
   */
  public static final long MAX_PARAMETERS = 200_000_000L;

  /**
   * The paper's baseline: conv 32×3×3 → ReLU → max-pool → dense 100 ReLU → dense 10.
   *
   * @return the spec
   */
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
   *
   * @return the spec
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
   *
   * @return the spec
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

  /**
   * A preset by name: {@code baseline}, {@code regularized} or {@code mcmahan-cnn}.
   *
   * @param name the preset's name
   * @return the spec
   * @throws IllegalArgumentException when no preset has that name
   */
  public static ModelSpec preset(String name) {
    return switch (name) {
      case "baseline" -> baseline();
      case "regularized" -> regularized();
      case "mcmahan-cnn" -> mcmahanCnn();
      default ->
          throw new IllegalArgumentException(
              "unknown model preset '" + name + "', expected baseline, regularized or mcmahan-cnn");
    };
  }

  /**
   * A builder with MNIST's input (28×28, 10 classes), batch 32, seed 42 and no augmentation.
   *
   * @return the builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * A builder holding this spec's values, for changing a few of them.
   *
   * @return the builder
   */
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

  /**
   * This spec with another seed.
   *
   * @param newSeed the seed
   * @return the new spec
   */
  public ModelSpec withSeed(long newSeed) {
    return toBuilder().seed(newSeed).build();
  }

  /**
   * Every variable the network has, in a fixed order.
   *
   * @return the variables
   */
  public List<ParameterShape> parameters() {
    return inferParameters(inputHeight, inputWidth, numClasses, layers);
  }

  /**
   * Number of trainable scalars.
   *
   * @return the number of trainable scalars
   */
  public long trainableParameterCount() {
    return parameters().stream()
        .filter(ParameterShape::trainable)
        .mapToLong(ParameterShape::size)
        .sum();
  }

  /**
   * Initial weights from {@link #seed()}: kernels by their layer's initializer, biases and β zero,
   * γ and moving variance one.
   *
   * @return the weights
   */
  public Weights initialWeights() {
    SplittableRandom random = new SplittableRandom(seed);
    List<Weights.NamedArray> arrays = new ArrayList<>();
    for (ParameterShape p : parameters()) {
      float[] values = new float[p.size()];
      switch (p.role()) {
        case KERNEL ->
            layers
                .get(p.layer())
                .kernelInitializer()
                .fill(values, p.fanIn(), p.fanOut(), random.split());
        case GAMMA, MOVING_VARIANCE -> java.util.Arrays.fill(values, 1f);
        case BIAS, BETA, MOVING_MEAN -> {
          // start at zero
        }
      }
      arrays.add(new Weights.NamedArray(p.name(), p.shape(), values));
    }
    return new Weights(arrays);
  }

  /**
   * The variables of layer {@code index}, in the order of {@link #parameters()}.
   *
   * @param index the layer's index
   * @return its variables; empty for a layer without any
   */
  public List<ParameterShape> parametersOf(int index) {
    return parameters().stream().filter(p -> p.layer() == index).toList();
  }

  private static List<ParameterShape> inferParameters(
      int height, int width, int numClasses, List<Layer> layers) {
    require(!layers.isEmpty(), "a model needs at least one layer");
    List<ParameterShape> params = new ArrayList<>();
    Layer.Dims dims = Layer.Dims.image(height, width, 1);
    for (int i = 0; i < layers.size(); i++) {
      Layer layer = Objects.requireNonNull(layers.get(i), "layer " + i);
      Layer.Dims out;
      try {
        out = layer.output(dims);
        params.addAll(layer.parameters(i, dims));
      } catch (IllegalArgumentException | NullPointerException e) {
        throw new IllegalArgumentException(
            "invalid ModelSpec: layer " + i + " (" + layer + "): " + e.getMessage(), e);
      }
      dims = out;
    }
    long total = 0;
    for (ParameterShape p : params) {
      total += p.size();
    }
    require(
        total <= MAX_PARAMETERS,
        "the layers hold "
            + total
            + " parameters, more than the "
            + MAX_PARAMETERS
            + " a model may have");
    Layer last = layers.get(layers.size() - 1);
    require(
        last instanceof Layer.Dense d && d.units() == numClasses,
        "the last layer must be Dense with "
            + numClasses
            + " units (the logits; softmax is implied), was "
            + last);
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

    /**
     * Sets the name (default {@code custom}).
     *
     * @param value a label for logs and saved models
     * @return this builder
     */
    public Builder name(String value) {
      this.name = value;
      return this;
    }

    /**
     * Sets the input size (default 28×28).
     *
     * @param height image height
     * @param width image width
     * @return this builder
     */
    public Builder input(int height, int width) {
      this.inputHeight = height;
      this.inputWidth = width;
      return this;
    }

    /**
     * Sets the number of classes (default 10).
     *
     * @param value the number of classes, at least 2
     * @return this builder
     */
    public Builder numClasses(int value) {
      this.numClasses = value;
      return this;
    }

    /**
     * Appends any layer.
     *
     * @param layer the layer
     * @return this builder
     */
    public Builder layer(Layer layer) {
      layers.add(Objects.requireNonNull(layer, "layer"));
      return this;
    }

    /**
     * Appends a He-uniform convolution.
     *
     * @param filters output channels
     * @param kernelSize the square kernel's side
     * @param padding how borders are handled
     * @return this builder
     */
    public Builder conv(int filters, int kernelSize, Padding padding) {
      return layer(new Conv2D(filters, kernelSize, padding, Initializer.HE_UNIFORM));
    }

    /**
     * Appends a max pooling.
     *
     * @param size the window's side
     * @return this builder
     */
    public Builder maxPool(int size) {
      return layer(new MaxPool(size));
    }

    /**
     * Appends a flattening.
     *
     * @return this builder
     */
    public Builder flatten() {
      return layer(new Flatten());
    }

    /**
     * Appends a He-uniform dense layer.
     *
     * @param units outputs
     * @return this builder
     */
    public Builder dense(int units) {
      return layer(new Dense(units, Initializer.HE_UNIFORM));
    }

    /**
     * Appends a ReLU.
     *
     * @return this builder
     */
    public Builder relu() {
      return layer(new Activation(Function.RELU));
    }

    /**
     * Appends a batch normalization with Keras' defaults.
     *
     * @return this builder
     */
    public Builder batchNorm() {
      return layer(BatchNorm.standard());
    }

    /**
     * Appends a dropout.
     *
     * @param rate the share of values dropped, in [0, 1)
     * @return this builder
     */
    public Builder dropout(double rate) {
      return layer(new Dropout(rate));
    }

    /**
     * Appends the output layer: dense with {@code numClasses} units.
     *
     * @param initializer how the kernel starts
     * @return this builder
     */
    public Builder logits(Initializer initializer) {
      return layer(new Dense(numClasses, initializer));
    }

    /**
     * Sets the optimizer (default SGD at 0.01 with momentum 0.9).
     *
     * @param value the optimizer
     * @return this builder
     */
    public Builder optimizer(OptimizerSpec value) {
      this.optimizer = value;
      return this;
    }

    /**
     * Sets the batch size (default 32).
     *
     * @param value examples per training step
     * @return this builder
     */
    public Builder batchSize(int value) {
      this.batchSize = value;
      return this;
    }

    /**
     * Sets the per-epoch learning-rate decay (default 1, constant).
     *
     * @param value the factor, in (0, 1]
     * @return this builder
     */
    public Builder learningRateDecay(double value) {
      this.learningRateDecay = value;
      return this;
    }

    /**
     * Sets the training augmentation (default none).
     *
     * @param value the augmentation
     * @return this builder
     */
    public Builder augmentation(Augmentation value) {
      this.augmentation = value;
      return this;
    }

    /**
     * Sets the seed (default 42).
     *
     * @param value the seed
     * @return this builder
     */
    public Builder seed(long value) {
      this.seed = value;
      return this;
    }

    /**
     * Validates and builds.
     *
     * @return the spec
     * @throws IllegalArgumentException naming the first value out of range or layer that does not
     *     fit
     */
    public ModelSpec build() {
      return new ModelSpec(
          name,
          inputHeight,
          inputWidth,
          numClasses,
          layers,
          optimizer,
          batchSize,
          learningRateDecay,
          augmentation,
          seed);
    }
  }
}
