package io.mnistfl.samples;

import io.mnistfl.data.ImageFolder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/** {@code --images DIR}: the user's own labelled digit pictures, one subfolder per class. */
final class ImagesOption {
  @Option(
      names = "--images",
      paramLabel = "DIR",
      description =
          "Your own labelled pictures instead of MNIST: DIR/0/*.png … DIR/9/*.png (any"
              + " format, size or polarity; preprocessed as predict does).")
  Optional<Path> dir;

  /** Loads the pictures; each unreadable one gets a line on stderr and is left out. */
  ImageFolder.Loaded load() throws IOException {
    ImageFolder.Loaded loaded = ImageFolder.load(dir.orElseThrow(), 10);
    loaded.skipped().forEach(line -> System.err.println("skipped " + line));
    System.out.printf(
        "images: %,d pictures from %s%s%n",
        loaded.images().size(),
        dir.get(),
        loaded.skipped().isEmpty() ? "" : ", " + loaded.skipped().size() + " unreadable left out");
    return loaded;
  }
}
