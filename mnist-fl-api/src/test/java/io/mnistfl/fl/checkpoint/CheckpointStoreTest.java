package io.mnistfl.fl.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.fl.StrategyState;
import io.mnistfl.fl.aggregate.FedAdam;
import io.mnistfl.fl.server.Federation;
import io.mnistfl.fl.server.FederationListener;
import io.mnistfl.fl.server.Sampling;
import io.mnistfl.fl.server.StandardStrategy;
import io.mnistfl.fl.sim.InProcessTransport;
import io.mnistfl.testing.Toys;
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
    // FedAdam's moments by name: m.0, m.1, v.0, v.1 for the toy's two arrays.
    assertThat(latest.history().strategyState().arrays().keySet())
        .containsExactly("m.0", "m.1", "v.0", "v.1");
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
                h.rounds(),
                h.roundsToTarget(),
                h.totalSeconds(),
                h.finalWeights(),
                StrategyState.empty()));
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

  @Test
  void aRenamedOrCopiedFolderIsRefusedNotTakenForTheNewest(@TempDir Path dir) throws IOException {
    CheckpointStore store = new CheckpointStore(dir, 3);
    federation(3).checkpoints(store).build().run(Toys.zeros());
    // The review's case: a copy of round 1 named round-000009 became latest(), and every resume
    // from it rewound, pruning the real ones below it.
    copy(dir.resolve("round-000001"), dir.resolve("round-000009"));
    assertThatThrownBy(store::latest)
        .isInstanceOf(IOException.class)
        .hasMessage(
            dir.resolve("round-000009")
                + " holds the checkpoint of round 1 (its manifest says so): the folder was renamed"
                + " or copied; a checkpoint is named after its round");
    assertThatThrownBy(() -> store.load("round-000009")).isInstanceOf(IOException.class);
    // The real ones are untouched and load by name.
    assertThat(store.load("round-000003").history().rounds()).hasSize(3);
  }

  @Test
  void anotherRunsCheckpointIsRefusedUnlessAskedForByName(@TempDir Path dir) throws IOException {
    Path mine = dir.resolve("mine");
    Path theirs = dir.resolve("theirs");
    CheckpointStore store = new CheckpointStore(mine, 3);
    federation(2).checkpoints(store).build().run(Toys.zeros());
    federation(3).checkpoints(new CheckpointStore(theirs, 3)).build().run(Toys.zeros());
    String myRun = store.latest().orElseThrow().runId();
    copy(theirs.resolve("round-000003"), mine.resolve("round-000003"));
    assertThatThrownBy(store::latest)
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith(mine + " holds checkpoints of more than one run: round-000003 is")
        .hasMessageContaining("round-000001 of run " + myRun)
        .hasMessageEndingWith("; resume one of them by name");
    Checkpoint theirsByName = store.load("round-000003");
    assertThat(theirsByName.runId()).isNotEqualTo(myRun).matches("[0-9a-f]{32}");

    // Resuming keeps the run's id: the next checkpoints are of the same run, and pruning leaves
    // the other run's checkpoint alone.
    deleteTree(mine.resolve("round-000003"));
    federation(5).checkpoints(store).build().resume(store.latest().orElseThrow());
    assertThat(store.names()).containsExactly("round-000003", "round-000004", "round-000005");
    for (String name : store.names()) {
      assertThat(store.load(name).runId()).isEqualTo(myRun);
    }
  }

  @Test
  void aFormat1CheckpointStillLoadsAndResumes(@TempDir Path dir) throws Exception {
    CheckpointStore store = new CheckpointStore(dir, 3);
    FederationHistory whole = federation(4).build().run(Toys.zeros());
    federation(2).checkpoints(store).build().run(Toys.zeros());
    // Rewrite round 2 as format 1 wrote it: no run id, the state by position (m then v).
    Path folder = dir.resolve("round-000002");
    StrategyState named = store.load("round-000002").history().strategyState();
    List<double[]> positional =
        List.of(
            named.array("m.0").orElseThrow(),
            named.array("m.1").orElseThrow(),
            named.array("v.0").orElseThrow(),
            named.array("v.1").orElseThrow());
    java.nio.ByteBuffer b =
        java.nio.ByteBuffer.allocate(4 + positional.stream().mapToInt(a -> 4 + 8 * a.length).sum())
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.putInt(positional.size());
    for (double[] a : positional) {
      b.putInt(a.length);
      for (double v : a) {
        b.putDouble(v);
      }
    }
    Files.write(folder.resolve(CheckpointStore.STATE), b.array());
    String manifest = Files.readString(folder.resolve(CheckpointStore.MANIFEST));
    Files.writeString(
        folder.resolve(CheckpointStore.MANIFEST),
        manifest
            .replace("\"format\" : 2", "\"format\" : 1")
            .replaceFirst("\"runId\" : \"[0-9a-f]+\",\\s*", "")
            .replaceFirst(
                "\"state.bin\" : \"[0-9a-f]+\"",
                "\"state.bin\" : \""
                    + java.util.HexFormat.of()
                        .formatHex(
                            java.security.MessageDigest.getInstance("SHA-256").digest(b.array()))
                    + "\""));
    deleteTree(dir.resolve("round-000001"));
    Checkpoint old = store.latest().orElseThrow();
    assertThat(old.runId()).isEmpty();
    assertThat(old.history().strategyState().positional()).isPresent();
    FederationHistory resumed = federation(4).checkpoints(store).build().resume(old);
    assertThat(resumed.finalWeights()).isEqualTo(whole.finalWeights());
    assertThat(store.latest().orElseThrow().runId()).matches("[0-9a-f]{32}");
  }

  private static void deleteTree(Path folder) throws IOException {
    try (var files = Files.walk(folder)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static void copy(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (var files = Files.list(from)) {
      for (Path f : files.toList()) {
        Files.copy(f, to.resolve(f.getFileName()));
      }
    }
  }
}
