package io.mnistfl.fl.wire;

import java.io.IOException;

/** Bytes that are not a valid {@link Messages} encoding; the message says what is wrong. */
public final class MessageFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  /**
   * An error with {@code message} saying what is wrong.
   *
   * @param message what is wrong
   */
  public MessageFormatException(String message) {
    super(message);
  }
}
