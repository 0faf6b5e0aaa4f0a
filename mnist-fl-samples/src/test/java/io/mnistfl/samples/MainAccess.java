package io.mnistfl.samples;

import io.mnistfl.data.DataSource;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

/** The CLI's command line and the rendered handwriting, for tests in other packages. */
public final class MainAccess {
  private MainAccess() {}

  /** {@link Main#commandLine()}. */
  public static picocli.CommandLine commandLine() {
    return Main.commandLine();
  }

  /** {@link Handwriting#render}: a test digit as a scan or photo would show it. */
  public static Path handwriting(DataSource source, int index, Path dir, Random random)
      throws IOException {
    return Handwriting.render(source, index, dir, random);
  }
}
