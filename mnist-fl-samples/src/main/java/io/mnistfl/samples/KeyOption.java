package io.mnistfl.samples;

import io.mnistfl.fl.http.SharedKey;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Option;

/** {@code --key-file FILE}: the secret a federation's server and clients sign HTTP calls with. */
final class KeyOption {
  @Option(names = "--key-file", paramLabel = "FILE",
      description = "Sign and check every HTTP call with the secret in FILE (at least 16 bytes,"
          + " e.g. from `openssl rand -hex 32`), which the server and all its clients share;"
          + " calls without it are refused. It authenticates; use https to also hide the bytes.")
  Optional<Path> file;

  /** The key, if a file was given; the error names a missing or too short file. */
  Optional<SharedKey> load() throws IOException {
    return file.isPresent() ? Optional.of(SharedKey.read(file.get())) : Optional.empty();
  }
}
