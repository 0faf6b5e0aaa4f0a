package io.mnistfl.model;

/** Bytes that are not a valid encoding of {@link Weights}; the message says what is wrong. */
public final class WeightsFormatException extends Exception {
  private static final long serialVersionUID = 1L;

  public WeightsFormatException(String message) {
    super(message);
  }
}
