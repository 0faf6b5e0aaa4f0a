package io.mnistfl.samples;

import java.net.InetSocketAddress;

/** HOST:PORT options. */
final class Addresses {
  private Addresses() {}

  /** {@code text} as an unresolved-free address, or a failure naming {@code option}. */
  static InetSocketAddress parse(String text, String option) {
    int colon = text.lastIndexOf(':');
    if (colon <= 0 || colon == text.length() - 1) {
      throw new IllegalArgumentException(option + " takes HOST:PORT, was " + text);
    }
    try {
      int port = Integer.parseInt(text.substring(colon + 1));
      if (port < 0 || port > 65535) {
        throw new NumberFormatException();
      }
      return new InetSocketAddress(text.substring(0, colon), port);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(option + ": not a port: " + text.substring(colon + 1));
    }
  }
}
