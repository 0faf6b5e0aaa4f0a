package io.mnistfl.samples.serve;

/**
 * A request the page refuses, with the 4xx status and one line saying why.
 *
 * @param status the HTTP status, 400 to 499
 * @param message what was wrong, for the person or tool that sent it
 */
record Refusal(int status, String message) {

  Refusal {
    if (status < 400 || status > 499) {
      throw new IllegalArgumentException("a refusal is a 4xx status, was " + status);
    }
  }

  /** Thrown where a handler gives up on a request; the router answers with the refusal. */
  static final class Thrown extends Exception {
    private static final long serialVersionUID = 1L;

    /** The refusal to send. */
    final transient Refusal refusal;

    Thrown(int status, String message) {
      super(message, null, false, false);
      this.refusal = new Refusal(status, message);
    }
  }

  static Thrown of(int status, String message) {
    return new Thrown(status, message);
  }
}
