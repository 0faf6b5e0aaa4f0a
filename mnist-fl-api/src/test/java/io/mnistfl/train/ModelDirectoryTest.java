package io.mnistfl.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.model.ModelSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The saved-model layout: what is written is read back whole, and replaced whole. */
class ModelDirectoryTest {

  private static TrainingRecord record(String data) {
    return new TrainingRecord(
        Provenance.builder(ModelSpec.baseline())
            .setting("training.epochs", 15)
            .data(data, 54_000)
            .backend("tensorflow-java 1.1.0")
            .build(),
        List.of(),
        Optional.empty(),
        123.5);
  }

  @Test
  void readsBackWhatItWrote(@TempDir Path dir) throws Exception {
    ModelSpec spec = ModelSpec.baseline();
    ModelDirectory saved = new ModelDirectory(spec, spec.initialWeights(), record("mnist/train"));
    saved.write(dir.resolve("model"));
    ModelDirectory read = ModelDirectory.read(dir.resolve("model"));
    assertThat(read.spec()).isEqualTo(spec);
    assertThat(read.weights()).isEqualTo(saved.weights());
    assertThat(read.record()).isEqualTo(saved.record());
    assertThat(read.record().provenance().settings()).containsEntry("training.epochs", "15");
    assertThat(read.record().provenance().library()).startsWith("mnist-fl 0.");
  }

  @Test
  void aNewModelReplacesTheOldOneWholeAndLeavesNothingBehind(@TempDir Path dir) throws Exception {
    ModelSpec spec = ModelSpec.baseline();
    new ModelDirectory(spec, spec.initialWeights(), record("first")).write(dir.resolve("model"));
    ModelSpec other = spec.withSeed(7);
    new ModelDirectory(other, other.initialWeights(), record("second")).write(dir.resolve("model"));
    ModelDirectory read = ModelDirectory.read(dir.resolve("model"));
    assertThat(read.record().provenance().data()).isEqualTo("second");
    assertThat(read.weights()).isEqualTo(other.initialWeights());
    try (var entries = Files.list(dir)) {
      assertThat(entries.map(p -> p.getFileName().toString())).containsExactly("model");
    }
  }

  @Test
  void aMissingPartIsNamed(@TempDir Path dir) throws Exception {
    ModelSpec spec = ModelSpec.baseline();
    new ModelDirectory(spec, spec.initialWeights(), record("x")).write(dir);
    Files.delete(dir.resolve(ModelDirectory.WEIGHTS));
    assertThatThrownBy(() -> ModelDirectory.read(dir))
        .hasMessage(dir + " is not a saved model: weights.bin is missing");
  }
}
