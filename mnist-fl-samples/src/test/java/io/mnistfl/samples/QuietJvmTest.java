package io.mnistfl.samples;

import static org.assertj.core.api.Assertions.assertThat;

import io.mnistfl.model.ModelSpec;
import io.mnistfl.tf.TfModel;
import io.mnistfl.train.Provenance;
import io.mnistfl.train.TrainingRecord;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI is quiet by default: TensorFlow's start-up lines appear only with --tf-logging. */
class QuietJvmTest {

  /** Runs the CLI in a fresh JVM without TF_CPP_MIN_LOG_LEVEL; returns its stderr. */
  private static String stderr(Path work, String... args) throws Exception {
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName()));
    command.addAll(List.of(args));
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .redirectOutput(work.resolve("out.txt").toFile())
            .redirectError(work.resolve("err.txt").toFile());
    builder.environment().remove(QuietJvm.VARIABLE);
    Process p = builder.start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(1);
    return java.nio.file.Files.readString(work.resolve("err.txt"), StandardCharsets.UTF_8);
  }

  @Test
  void tensorFlowsLogLinesShowOnlyWhenAskedFor(@TempDir Path work) throws Exception {
    // predict builds the saved model's graph, then finds no picture.
    Path model = work.resolve("model");
    try (TfModel m = TfModel.create(ModelSpec.baseline())) {
      m.save(
          model,
          new TrainingRecord(Provenance.builder(m.spec()).build(), List.of(), Optional.empty(), 0));
    }
    String quiet = stderr(work, "predict", "--model", model.toString(), "x.png");
    String loud = stderr(work, "predict", "--tf-logging", "--model", model.toString(), "x.png");
    assertThat(quiet)
        .contains("x.png ERROR")
        .doesNotContain("tensorflow/")
        .doesNotContain("absl")
        .doesNotContain("mlir");
    assertThat(quiet.lines().filter(l -> QuietJvm.TF_LOG_LINE.matcher(l).find())).isEmpty();
    assertThat(loud).contains("x.png ERROR").contains("tensorflow/");
  }
}
