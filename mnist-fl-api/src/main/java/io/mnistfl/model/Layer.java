package io.mnistfl.model;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.mnistfl.model.ParameterShape.Role;
import java.util.List;
import java.util.Objects;

/**
 * One step of a network, in order from input to logits. The set is closed, and a backend handles
 * every kind through a {@link Visitor}, so a new kind fails to compile until every backend builds
 * it. Each kind knows its output size and its variables.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "type")
@JsonSubTypes({
  @JsonSubTypes.Type(value = Layer.Conv2D.class, name = "conv2d"),
  @JsonSubTypes.Type(value = Layer.MaxPool.class, name = "maxpool"),
  @JsonSubTypes.Type(value = Layer.Flatten.class, name = "flatten"),
  @JsonSubTypes.Type(value = Layer.Dense.class, name = "dense"),
  @JsonSubTypes.Type(value = Layer.Activation.class, name = "activation"),
  @JsonSubTypes.Type(value = Layer.BatchNorm.class, name = "batchnorm"),
  @JsonSubTypes.Type(value = Layer.Dropout.class, name = "dropout")
})
public sealed interface Layer {

  /**
   * What flows between layers: an image of {@code height × width × channels}, or after {@link
   * Flatten} a vector of {@code features}.
   *
   * @param height rows (0 once flat)
   * @param width columns (0 once flat)
   * @param channels channels (0 once flat)
   * @param features vector length once flat, else 0
   */
  record Dims(int height, int width, int channels, int features) {
    /**
     * An image.
     *
     * @param height rows
     * @param width columns
     * @param channels channels
     * @return the dimensions
     */
    public static Dims image(int height, int width, int channels) {
      return new Dims(height, width, channels, 0);
    }

    /**
     * Whether this is a flat vector.
     *
     * @return whether {@code features > 0}
     */
    public boolean flat() {
      return features > 0;
    }
  }

  /**
   * The dimensions after this layer.
   *
   * @param in the dimensions of this layer's input
   * @return the dimensions of its output
   * @throws IllegalArgumentException saying why this layer cannot follow {@code in}
   */
  Dims output(Dims in);

  /**
   * The variables of this layer when it is layer {@code index} with input {@code in}.
   *
   * @param index the layer's index in the network
   * @param in the dimensions of its input
   * @return the variables, in a fixed order; none by default
   */
  default List<ParameterShape> parameters(int index, Dims in) {
    return List.of();
  }

  /**
   * The kernel initializer, for layers with a kernel.
   *
   * @return the initializer
   * @throws IllegalStateException for a layer without a kernel
   */
  default Initializer kernelInitializer() {
    throw new IllegalStateException(this + " has no kernel");
  }

  /**
   * Calls {@code visitor}'s method for this layer's kind.
   *
   * @param <R> what the visitor returns
   * @param visitor the visitor
   * @return what the visitor's method returned
   */
  <R> R accept(Visitor<R> visitor);

  /** One method per layer kind. */
  interface Visitor<R> {
    /**
     * A convolution.
     *
     * @param layer the layer
     * @return the visitor's result
     */
    R conv2d(Conv2D layer);

    /**
     * Max pooling.
     *
     * @param layer the layer
     * @return the visitor's result
     */
    R maxPool(MaxPool layer);

    /**
     * Flattening.
     *
     * @param layer the layer
     * @return the visitor's result
     */
    R flatten(Flatten layer);

    /**
     * A dense layer.
     *
     * @param layer the layer
     * @return the visitor's result
     */
    R dense(Dense layer);

    /**
     * A non-linearity.
     *
     * @param layer the layer
     * @return the visitor's result
     */
    R activation(Activation layer);

    /**
     * Batch normalization.
     *
     * @param layer the layer
     * @return the visitor's result
     */
    R batchNorm(BatchNorm layer);

    /**
     * Dropout.
     *
     * @param layer the layer
     * @return the visitor's result
     */
    R dropout(Dropout layer);
  }

  /** Padding of convolutions and pools. */
  enum Padding {
    /** No padding: output shrinks by {@code kernel - 1}. */
    VALID,
    /** Zero padding so that stride 1 keeps the size. */
    SAME
  }

  /** Element-wise non-linearities. */
  enum Function {
    /** max(0, x). */
    RELU,
    /** The hyperbolic tangent. */
    TANH,
    /** The logistic function. */
    SIGMOID
  }

  /**
   * 2-D convolution with bias, stride 1.
   *
   * @param filters output channels
   * @param kernelSize the square kernel's side
   * @param padding how borders are handled
   * @param initializer how the kernel starts
   */
  record Conv2D(int filters, int kernelSize, Padding padding, Initializer initializer)
      implements Layer {
    @Override
    public Dims output(Dims in) {
      require(!in.flat(), "a convolution cannot follow Flatten");
      require(filters > 0, "filters must be > 0");
      require(kernelSize > 0, "kernel size must be > 0");
      Objects.requireNonNull(padding, "padding");
      Objects.requireNonNull(initializer, "initializer");
      if (padding == Padding.SAME) {
        return Dims.image(in.height(), in.width(), filters);
      }
      require(
          kernelSize <= in.height() && kernelSize <= in.width(),
          "kernel " + kernelSize + " is larger than its input " + in.height() + "x" + in.width());
      return Dims.image(in.height() - kernelSize + 1, in.width() - kernelSize + 1, filters);
    }

    @Override
    public List<ParameterShape> parameters(int index, Dims in) {
      int k = kernelSize;
      int c = in.channels();
      return List.of(
          ParameterShape.of(
              "conv2d",
              index,
              Role.KERNEL,
              new int[] {k, k, c, filters},
              k * k * c,
              k * k * filters),
          ParameterShape.of("conv2d", index, Role.BIAS, new int[] {filters}, 0, 0));
    }

    @Override
    public Initializer kernelInitializer() {
      return initializer;
    }

    @Override
    public <R> R accept(Visitor<R> visitor) {
      return visitor.conv2d(this);
    }
  }

  /**
   * Non-overlapping max pooling ({@code size × size}, stride {@code size}).
   *
   * @param size the window's side
   */
  record MaxPool(int size) implements Layer {
    @Override
    public Dims output(Dims in) {
      require(!in.flat(), "pooling cannot follow Flatten");
      require(size >= 1, "pool size must be >= 1");
      require(
          size <= in.height() && size <= in.width(),
          "pool " + size + " is larger than its input " + in.height() + "x" + in.width());
      return Dims.image(in.height() / size, in.width() / size, in.channels());
    }

    @Override
    public <R> R accept(Visitor<R> visitor) {
      return visitor.maxPool(this);
    }
  }

  /** Flattens height × width × channels into one feature vector. */
  record Flatten() implements Layer {
    @Override
    public Dims output(Dims in) {
      require(!in.flat(), "already flat");
      long features = (long) in.height() * in.width() * in.channels();
      require(
          features <= ModelSpec.MAX_PARAMETERS,
          "flattening "
              + in.height()
              + "x"
              + in.width()
              + "x"
              + in.channels()
              + " gives "
              + features
              + " features, more than "
              + ModelSpec.MAX_PARAMETERS);
      return new Dims(0, 0, 0, (int) features);
    }

    @Override
    public <R> R accept(Visitor<R> visitor) {
      return visitor.flatten(this);
    }
  }

  /**
   * Fully connected layer with bias.
   *
   * @param units outputs
   * @param initializer how the kernel starts
   */
  record Dense(int units, Initializer initializer) implements Layer {
    @Override
    public Dims output(Dims in) {
      require(in.flat(), "a dense layer needs Flatten before it");
      require(units > 0, "units must be > 0");
      Objects.requireNonNull(initializer, "initializer");
      return new Dims(0, 0, 0, units);
    }

    @Override
    public List<ParameterShape> parameters(int index, Dims in) {
      return List.of(
          ParameterShape.of(
              "dense", index, Role.KERNEL, new int[] {in.features(), units}, in.features(), units),
          ParameterShape.of("dense", index, Role.BIAS, new int[] {units}, 0, 0));
    }

    @Override
    public Initializer kernelInitializer() {
      return initializer;
    }

    @Override
    public <R> R accept(Visitor<R> visitor) {
      return visitor.dense(this);
    }
  }

  /**
   * An element-wise non-linearity.
   *
   * @param function which one
   */
  record Activation(Function function) implements Layer {
    @Override
    public Dims output(Dims in) {
      Objects.requireNonNull(function, "function");
      return in;
    }

    @Override
    public <R> R accept(Visitor<R> visitor) {
      return visitor.activation(this);
    }
  }

  /**
   * Batch normalization over the channel (or feature) axis: batch statistics while training, moving
   * averages ({@code moving = momentum·moving + (1 − momentum)·batch}) for inference.
   *
   * @param momentum the moving averages' decay, in [0, 1)
   * @param epsilon added to the variance, {@code > 0}
   */
  record BatchNorm(double momentum, double epsilon) implements Layer {
    /**
     * Keras' defaults: momentum 0.99, epsilon 0.001.
     *
     * @return the layer
     */
    public static BatchNorm standard() {
      return new BatchNorm(0.99, 1e-3);
    }

    @Override
    public Dims output(Dims in) {
      require(momentum >= 0 && momentum < 1, "momentum must be in [0, 1), was " + momentum);
      require(epsilon > 0, "epsilon must be > 0, was " + epsilon);
      return in;
    }

    @Override
    public List<ParameterShape> parameters(int index, Dims in) {
      int[] shape = {in.flat() ? in.features() : in.channels()};
      return List.of(
          ParameterShape.of("batchnorm", index, Role.GAMMA, shape, 0, 0),
          ParameterShape.of("batchnorm", index, Role.BETA, shape, 0, 0),
          ParameterShape.of("batchnorm", index, Role.MOVING_MEAN, shape, 0, 0),
          ParameterShape.of("batchnorm", index, Role.MOVING_VARIANCE, shape, 0, 0));
    }

    @Override
    public <R> R accept(Visitor<R> visitor) {
      return visitor.batchNorm(this);
    }
  }

  /**
   * Inverted dropout with the given drop rate, active only while training.
   *
   * @param rate the share of values dropped, in [0, 1)
   */
  record Dropout(double rate) implements Layer {
    @Override
    public Dims output(Dims in) {
      require(rate >= 0 && rate < 1, "dropout rate must be in [0, 1), was " + rate);
      return in;
    }

    @Override
    public <R> R accept(Visitor<R> visitor) {
      return visitor.dropout(this);
    }
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
