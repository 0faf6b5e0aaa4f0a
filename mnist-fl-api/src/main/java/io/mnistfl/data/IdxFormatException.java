package io.mnistfl.data;

import java.io.IOException;

/** An IDX file that is truncated, corrupt or not what the caller expected; names the file. */
public final class IdxFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception with the message {@code "source: problem"}.
   *
   * @param source names the file or stream
   * @param problem what is wrong with it
   */
  public IdxFormatException(String source, String problem) {
    super(source + ": " + problem);
  }
}
