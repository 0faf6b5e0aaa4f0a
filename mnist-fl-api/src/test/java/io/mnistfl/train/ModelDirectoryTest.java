package io.mnistfl.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.mnistfl.model.ModelSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The saved-model layout: what is written is read back, and older records still read. */
class ModelDirectoryTest {

  private static TrainingRecord record(Optional<String> federation) {
    return new TrainingRecord(ModelSpec.baseline(), "mnist/train", 60_000, 0, 15, List.of(),
        Optional.empty(), 123.5, "2026-11-24T00:00:00Z", "tensorflow-java 1.1.0", federation);
  }

  @Test
  void readsBackWhatItWrote(@TempDir Path dir) throws Exception {
    ModelSpec spec = ModelSpec.baseline();
    ModelDirectory saved = new ModelDirectory(spec, spec.initialWeights(),
        record(Optional.of("10 clients (iid), C=1.00, E=1, B=32, FedAvg, 15 rounds")));
    saved.write(dir);
    ModelDirectory read = ModelDirectory.read(dir);
    assertThat(read.spec()).isEqualTo(spec);
    assertThat(read.weights()).isEqualTo(saved.weights());
    assertThat(read.record()).isEqualTo(saved.record());
  }

  @Test
  void aRecordSavedBeforeFederatedModelsReadsAsCentralTraining(@TempDir Path dir)
      throws Exception {
    ModelSpec spec = ModelSpec.baseline();
    new ModelDirectory(spec, spec.initialWeights(), record(Optional.empty())).write(dir);
    Path file = dir.resolve(ModelDirectory.RECORD);
    String json = Files.readString(file);
    String old = json.replaceAll(",\\s*\"federation\"\\s*:\\s*null", "");
    assertThat(old).isNotEqualTo(json).doesNotContain("federation");
    Files.writeString(file, old);
    assertThat(ModelDirectory.read(dir).record()).isEqualTo(record(Optional.empty()));
  }
}
