package io.mnistfl.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Labelled pictures of digits in a folder with one subfolder per class, named {@code 0} to {@code
 * 9} (the layout of torchvision's {@code ImageFolder}): a site's own data, ready to train or
 * evaluate on. Every picture (PNG, JPEG, BMP, GIF; any size; either polarity) is preprocessed into
 * an MNIST-style 28×28 image by {@link DigitImages}, as {@code predict} does, and held in memory. A
 * picture that cannot be read is left out and named in {@link Loaded#skipped()}; the others still
 * load.
 */
public final class ImageFolder {
  private ImageFolder() {}

  /**
   * The loaded pictures and the ones left out.
   *
   * @param images the readable pictures, ordered by class, then by file name
   * @param skipped one line per picture left out: its path and why
   */
  public record Loaded(ImageDataset images, List<String> skipped) {
    /**
     * Copies {@code skipped}, so later changes to the caller's list do not show.
     *
     * @param images the readable pictures
     * @param skipped one line per picture left out
     */
    public Loaded {
      skipped = List.copyOf(skipped);
    }
  }

  /**
   * Loads {@code dir}/{@code 0}…{@code numClasses − 1}/*. Files directly in {@code dir} and hidden
   * entries are ignored; a class folder may be missing or empty.
   *
   * @param dir the folder holding one subfolder per class
   * @param numClasses the number of classes
   * @return the pictures read and the ones left out
   * @throws IOException naming {@code dir} when it is not a folder, holds a subfolder that is not a
   *     class number, or holds no readable picture at all
   */
  public static Loaded load(Path dir, int numClasses) throws IOException {
    DigitImages.requireDesktop();
    return load(dir, numClasses, DigitImages::load);
  }

  /** How one picture file becomes 28×28 pixels; tests inject failures through it. */
  interface PictureReader {
    float[] read(Path file) throws IOException;
  }

  static Loaded load(Path dir, int numClasses, PictureReader reader) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw new IOException(dir + ": no such folder");
    }
    List<Path> classFolders;
    try (Stream<Path> entries = Files.list(dir)) {
      classFolders =
          entries
              .filter(Files::isDirectory)
              .filter(p -> !p.getFileName().toString().startsWith("."))
              .sorted()
              .toList();
    }
    List<float[]> pictures = new ArrayList<>();
    List<Integer> labels = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    for (Path folder : classFolders) {
      int label = classOf(folder, numClasses);
      List<Path> files;
      try (Stream<Path> entries = Files.list(folder)) {
        files =
            entries
                .filter(Files::isRegularFile)
                .filter(p -> !p.getFileName().toString().startsWith("."))
                .sorted()
                .toList();
      }
      for (Path file : files) {
        try {
          pictures.add(reader.read(file));
          labels.add(label);
        } catch (Exception | Error e) {
          // Even an Error stays with its file: the other pictures still load.
          skipped.add(
              e.getMessage() != null && e.getMessage().startsWith(file.toString())
                  ? e.getMessage()
                  : file + ": " + e);
        }
      }
    }
    if (pictures.isEmpty()) {
      throw new IOException(
          dir
              + ": no readable digit pictures in subfolders 0 to "
              + (numClasses - 1)
              + (skipped.isEmpty() ? "" : " (" + skipped.size() + " unreadable)"));
    }
    int side = DigitImages.SIZE;
    byte[] pixels = new byte[pictures.size() * side * side];
    byte[] classes = new byte[pictures.size()];
    for (int i = 0; i < pictures.size(); i++) {
      float[] p = pictures.get(i);
      for (int k = 0; k < p.length; k++) {
        pixels[i * p.length + k] = (byte) Math.round(p[k] * 255);
      }
      classes[i] = (byte) (int) labels.get(i);
    }
    return new Loaded(
        ImageDataset.of(
            dir.toString(),
            new Idx.Images(pictures.size(), side, side, pixels),
            classes,
            numClasses),
        skipped);
  }

  private static int classOf(Path folder, int numClasses) throws IOException {
    String name = folder.getFileName().toString();
    try {
      int label = Integer.parseInt(name);
      if (label >= 0 && label < numClasses && String.valueOf(label).equals(name)) {
        return label;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IOException(
        folder + ": not a class folder; expected subfolders named 0 to " + (numClasses - 1));
  }
}
