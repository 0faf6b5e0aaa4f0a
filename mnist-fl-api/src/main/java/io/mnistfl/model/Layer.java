package io.mnistfl.model;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

/**
 * One step of a network, in order from input to logits. The set is closed: the TensorFlow backend
 * knows how to build each of these.
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

  /** Padding of convolutions and pools. */
  enum Padding {
    /** No padding: output shrinks by {@code kernel - 1}. */
    VALID,
    /** Zero padding so that stride 1 keeps the size. */
    SAME
  }

  /** Element-wise non-linearities. */
  enum Function {
    RELU,
    TANH,
    SIGMOID
  }

  /** 2-D convolution with bias, stride 1. */
  record Conv2D(int filters, int kernelSize, Padding padding, Initializer initializer)
      implements Layer {}

  /** Non-overlapping max pooling ({@code size × size}, stride {@code size}). */
  record MaxPool(int size) implements Layer {}

  /** Flattens height × width × channels into one feature vector. */
  record Flatten() implements Layer {}

  /** Fully connected layer with bias. */
  record Dense(int units, Initializer initializer) implements Layer {}

  /** An element-wise non-linearity. */
  record Activation(Function function) implements Layer {}

  /**
   * Batch normalization over the channel (or feature) axis: batch statistics while training,
   * moving averages ({@code moving = momentum·moving + (1 − momentum)·batch}) for inference.
   */
  record BatchNorm(double momentum, double epsilon) implements Layer {
    /** Keras' defaults: momentum 0.99, epsilon 0.001. */
    public static BatchNorm standard() {
      return new BatchNorm(0.99, 1e-3);
    }
  }

  /** Inverted dropout with the given drop rate, active only while training. */
  record Dropout(double rate) implements Layer {}
}
