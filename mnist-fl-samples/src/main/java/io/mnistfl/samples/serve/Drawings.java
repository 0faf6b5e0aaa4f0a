package io.mnistfl.samples.serve;

import io.mnistfl.data.DigitImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Saves labelled drawings where {@code evaluate --images} reads them: {@code DIR/7/…png}. Only PNG
 * pictures that decode, within the pixel cap and not blank, are written, under names the server
 * makes up.
 */
final class Drawings {
  /** Drawings one server saves at most, so that no client can fill the disk. */
  static final int MAX_SAVED = 10_000;

  private static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

  private final Path dir;
  private final long maxPixels;
  private final AtomicInteger saved = new AtomicInteger();

  Drawings(Path dir, long maxPixels) {
    this.dir = dir.toAbsolutePath().normalize();
    this.maxPixels = maxPixels;
  }

  Path dir() {
    return dir;
  }

  /**
   * What was saved.
   *
   * @param label the digit it shows
   * @param path the file, relative to the drawings folder
   * @param folder the drawings folder, for {@code evaluate --images}
   */
  record Saved(int label, String path, String folder) {}

  /**
   * Saves one drawing under its label.
   *
   * @throws Refusal.Thrown 400 for a bad label, 415 for a non-PNG body, 422 for a picture that does
   *     not decode or is blank, 429 once {@link #MAX_SAVED} are saved
   */
  Saved save(String label, byte[] png) throws Refusal.Thrown, IOException {
    if (label == null || !label.matches("[0-9]")) {
      throw Refusal.of(
          400,
          "label must be one digit 0-9, was "
              + (label == null ? "missing" : "'" + Guard.clip(label) + "'"));
    }
    if (png.length < PNG.length
        || !java.util.Arrays.equals(png, 0, PNG.length, PNG, 0, PNG.length)) {
      throw Refusal.of(415, "a drawing is saved as PNG; this body is not one");
    }
    float[] pixels;
    try {
      pixels = DigitImages.read(png, "drawing", maxPixels);
    } catch (IOException e) {
      throw Refusal.of(422, e.getMessage());
    }
    boolean blank = true;
    for (float v : pixels) {
      blank &= v == 0;
    }
    if (blank) {
      throw Refusal.of(422, "the drawing is blank; nothing saved");
    }
    int n = saved.incrementAndGet();
    if (n > MAX_SAVED) {
      throw Refusal.of(
          429, "this server has saved " + MAX_SAVED + " drawings; restart it to save more");
    }
    Path folder = Files.createDirectories(dir.resolve(label));
    String name =
        String.format(
            "drawing-%s-%d-%04x.png",
            LocalDateTime.now().format(STAMP),
            n,
            java.util.concurrent.ThreadLocalRandom.current().nextInt(1 << 16));
    Path file = folder.resolve(name);
    Files.write(file, png, StandardOpenOption.CREATE_NEW);
    return new Saved(Integer.parseInt(label), label + "/" + name, dir.toString());
  }
}
