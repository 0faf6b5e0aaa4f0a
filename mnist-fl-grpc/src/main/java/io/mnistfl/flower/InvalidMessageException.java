package io.mnistfl.flower;

/**
 * A message from the SuperLink that the site will not act on: malformed, corrupt, beyond a bound,
 * or not fitting the site's model or limits. Its message, one line naming the object, array, field
 * or limit, becomes the error reply's reason.
 */
final class InvalidMessageException extends Exception {
  private static final long serialVersionUID = 1L;

  InvalidMessageException(String message) {
    super(message);
  }
}
