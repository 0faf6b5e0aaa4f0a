package io.mnistfl.model;

import java.io.IOException;

/** Bytes that are not a valid encoding of {@link Weights}; the message says what is wrong. */
public final class WeightsFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  /**
   * An error with {@code message} saying what is wrong.
   *
   * @param message what is wrong
   */
  public WeightsFormatException(String message) {
    super(message);
  }
}
