package io.mnistfl.fl;

import java.io.IOException;

/** Bytes that are not a valid {@link Messages} encoding; the message says what is wrong. */
public final class MessageFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  public MessageFormatException(String message) {
    super(message);
  }
}
