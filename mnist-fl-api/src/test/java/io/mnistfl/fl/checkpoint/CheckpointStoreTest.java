package io.mnistfl.fl.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.fl.Federation;
import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.FederationListener;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.fl.Sampling;
import io.mnistfl.fl.StandardStrategy;
import io.mnistfl.fl.Toys;
import io.mnistfl.fl.aggregate.FedAdam;
import io.mnistfl.fl.sim.InProcessTransport;
import io.mnistfl.train.Provenance;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Checkpoints written as units, checked when read, and resumed as if never stopped. */
class CheckpointStoreTest {

  /** FedAdam (stateful) over half of four toy sites a round. */
  private static Federation.Builder federation(int rounds) {
    return Federation.builder(Toys.SPEC, new InProcessTransport(Toys.four()))
        .strategy(
            StandardStrategy.builder()
                .aggregator(new FedAdam(0.1, 0.9, 0.99, 1e-3))
                .sampling(Sampling.fraction(0.5, 1))
                .build())
        .evaluator(Toys.EVALUATOR)
        .rounds(rounds)
        .setting("data.partition", "toy");
  }

  @Test
  void aWriteAbortedBetweenTwoPartsResumesFromTheLastWholeCheckpointAndEndsTheSame(
      @TempDir Path dir) throws IOException {
    FederationHistory whole = federation(6).build().run(Toys.zeros());

    // Round 4's checkpoint dies after its history is written, before its weights.
    CheckpointStore dying =
        new CheckpointStore(
            dir,
            3,
            part -> {
              if (part.equals(CheckpointStore.HISTORY)
                  && Files.exists(dir.resolve("round-000003"))) {
                throw new IOException("power cut (injected)");
              }
            });
    assertThatThrownBy(() -> federation(6).checkpoints(dying).build().run(Toys.zeros()))
        .isInstanceOf(UncheckedIOException.class)
        .hasMessage("cannot save the checkpoint of round 4: power cut (injected)");

    CheckpointStore store = new CheckpointStore(dir, 3);
    assertThat(store.names()).containsExactly("round-000001", "round-000002", "round-000003");
    Checkpoint latest = store.latest().orElseThrow();
    assertThat(latest.history().rounds()).hasSize(3);
    assertThat(latest.history().strategyState()).hasSize(4);
    FederationHistory resumed = federation(6).checkpoints(store).build().resume(latest);

    assertThat(resumed.rounds()).extracting(RoundResult::round).containsExactly(1, 2, 3, 4, 5, 6);
    assertThat(resumed.finalWeights()).isEqualTo(whole.finalWeights());
    assertThat(resumed.rounds())
        .extracting(r -> r.test().orElseThrow().accuracy())
        .isEqualTo(whole.rounds().stream().map(r -> r.test().orElseThrow().accuracy()).toList());
    // The newest three are kept, the aborted write's leftovers removed.
    try (var entries = Files.list(dir)) {
      assertThat(entries.map(p -> p.getFileName().toString()).sorted())
          .containsExactly("round-000004", "round-000005", "round-000006");
    }
  }

  @Test
  void aDamagedNewestCheckpointIsRefusedByItsPartNeverSilentlyReplaced(@TempDir Path dir)
      throws IOException {
    CheckpointStore store = new CheckpointStore(dir, 3);
    federation(3).checkpoints(store).build().run(Toys.zeros());
    Path history = dir.resolve("round-000003").resolve(CheckpointStore.HISTORY);
    String json = Files.readString(history);
    // One digit of round 1's accuracy changed, as found by hand at 8822bcc.
    Files.writeString(
        history,
        json.replaceFirst("\"accuracy\" : 0\\.(\\d)", "\"accuracy\" : 0.9"),
        StandardCharsets.UTF_8);
    assertThat(Files.readString(history)).isNotEqualTo(json);
    assertThatThrownBy(store::latest)
        .isInstanceOf(IOException.class)
        .hasMessage(history + " fails its checksum: the checkpoint is damaged");
    Files.writeString(history, json, StandardCharsets.UTF_8);

    Files.delete(dir.resolve("round-000003").resolve(CheckpointStore.STATE));
    assertThatThrownBy(store::latest)
        .isInstanceOf(IOException.class)
        .hasMessage(
            dir.resolve("round-000003").resolve(CheckpointStore.STATE)
                + ": the checkpoint lacks its part state.bin");
    // An older one only when asked for by name.
    assertThat(store.load("round-000002").history().rounds()).hasSize(2);
    assertThatThrownBy(() -> store.load("round-000009"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("no such checkpoint");
  }

  @Test
  void aStatefulStrategysCheckpointWithoutItsStateIsRefused(@TempDir Path dir) throws IOException {
    CheckpointStore store = new CheckpointStore(dir, 3);
    federation(2).checkpoints(store).build().run(Toys.zeros());
    Checkpoint saved = store.latest().orElseThrow();
    FederationHistory h = saved.history();
    Checkpoint stateless =
        new Checkpoint(
            saved.provenance(),
            new FederationHistory(
                h.rounds(), h.roundsToTarget(), h.totalSeconds(), h.finalWeights(), List.of()));
    assertThatThrownBy(() -> federation(4).build().resume(stateless))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "cannot resume checkpoint of round 2: it lacks the state of"
                + " FedAdam(eta=0.1, beta1=0.9, beta2=0.99, tau=0.001) (its moments), which the"
                + " next round needs");
  }

  @Test
  void resumeComparesTheSettingsThatDetermineTheResultByName(@TempDir Path dir) throws IOException {
    CheckpointStore store = new CheckpointStore(dir, 3);
    federation(2).checkpoints(store).build().run(Toys.zeros());
    Checkpoint saved = store.latest().orElseThrow();
    Federation other =
        Federation.builder(Toys.SPEC, new InProcessTransport(Toys.four()))
            .strategy(
                StandardStrategy.builder()
                    .aggregator(new FedAdam(0.1, 0.9, 0.99, 1e-3))
                    .sampling(Sampling.fraction(0.75, 1))
                    .build())
            .evaluator(Toys.EVALUATOR)
            .rounds(4)
            .setting("data.partition", "another")
            .build();
    assertThatThrownBy(() -> other.resume(saved))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "cannot resume checkpoint of round 2: data.partition: saved toy, now"
                + " another; strategy.sampling: saved fraction 0.5, at least 1, now fraction 0.75,"
                + " at least 1");

    // Another library version only warns; other sites may connect.
    Provenance p = saved.provenance();
    Checkpoint older =
        new Checkpoint(
            new Provenance(
                p.kind(),
                p.spec(),
                p.settings(),
                List.of("gone-1", "gone-2"),
                p.data(),
                p.trainExamples(),
                "mnist-fl 0.0.9",
                p.backend(),
                p.createdAt()),
            saved.history());
    List<String> warnings = new ArrayList<>();
    FederationHistory resumed =
        federation(4)
            .listener(
                new FederationListener() {
                  @Override
                  public void warning(String message) {
                    warnings.add(message);
                  }
                })
            .build()
            .resume(older);
    assertThat(resumed.rounds()).hasSize(4);
    assertThat(warnings)
        .singleElement()
        .asString()
        .startsWith("saved by mnist-fl 0.0.9, resumed by mnist-fl ");
  }
}
