package io.mnistfl.flower;

/** Text from a peer, made safe to put into one line of a log or an error reply. */
final class Text {
  private Text() {}

  /** {@code s} with anything but printable ASCII as {@code ?}, cut to {@code max} characters. */
  static String printable(String s, int max) {
    String cut = s.length() > max ? s.substring(0, max) + "…" : s;
    return cut.replaceAll("[^ -~…]", "?");
  }

  /** The first line of a throwable's message, or its class when it has none. */
  static String oneLine(Throwable t) {
    String m = t.getMessage();
    if (m == null || m.isBlank()) {
      return t.getClass().getSimpleName();
    }
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }
}
