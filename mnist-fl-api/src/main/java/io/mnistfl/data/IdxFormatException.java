package io.mnistfl.data;

import java.io.IOException;

/** An IDX file that is truncated, corrupt or not what the caller expected; names the file. */
public final class IdxFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  public IdxFormatException(String source, String problem) {
    super(source + ": " + problem);
  }
}
