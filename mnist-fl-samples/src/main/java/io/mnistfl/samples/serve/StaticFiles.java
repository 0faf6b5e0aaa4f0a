package io.mnistfl.samples.serve;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** The page's HTML, CSS and JavaScript, read once from the jar: a fixed list, nothing else. */
final class StaticFiles {
  /** Every file the page is made of. */
  static final List<String> NAMES =
      List.of(
          "index.html",
          "runs.html",
          "run.html",
          "style.css",
          "common.js",
          "charts.js",
          "draw.js",
          "runs.js",
          "run.js");

  /**
   * One file.
   *
   * @param contentType its media type
   * @param bytes its content
   */
  record File(String contentType, byte[] bytes) {}

  private final Map<String, File> files = new TreeMap<>();

  StaticFiles() {
    for (String name : NAMES) {
      try (InputStream in = StaticFiles.class.getResourceAsStream("web/" + name)) {
        if (in == null) {
          throw new IllegalStateException("the jar lacks the page's file web/" + name);
        }
        files.put(name, new File(type(name), in.readAllBytes()));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the page's file " + name, e);
      }
    }
  }

  Optional<File> get(String name) {
    return Optional.ofNullable(files.get(name));
  }

  private static String type(String name) {
    if (name.endsWith(".html")) {
      return "text/html; charset=utf-8";
    }
    if (name.endsWith(".css")) {
      return "text/css; charset=utf-8";
    }
    return "text/javascript; charset=utf-8";
  }
}
