package io.mnistfl.samples.serve;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.fl.SiteFailure;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.train.EpochResult;
import io.mnistfl.train.Json;
import io.mnistfl.train.TrainingRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The run folders the page shows: every folder under {@code --runs} that {@code train} or {@code
 * federate} wrote, and the one {@code --follow} names (which may not exist yet). A run's id is its
 * folder's name; nothing outside these folders is ever read.
 */
final class Runs {
  /** A run id: a folder name, no dots first, no separators. */
  static final Pattern ID = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]{0,99}");

  static final String HISTORY = "history.json";
  static final String TRAINING = "model/training.json";

  private final Optional<Path> root;
  private final Optional<Path> followed;

  Runs(Optional<Path> root, Optional<Path> followed) {
    this.root = root.map(p -> p.toAbsolutePath().normalize());
    this.followed = followed.map(p -> p.toAbsolutePath().normalize());
  }

  /** The followed run's id, if one is followed. */
  Optional<String> followedId() {
    return followed.map(p -> p.getFileName().toString());
  }

  /**
   * One line of the runs list.
   *
   * @param id the folder's name
   * @param kind {@code federation}, {@code training}, or {@code waiting} (followed, not started)
   * @param state {@code running}, {@code finished}, {@code failed}, or {@code stopped} (its process
   *     no longer writes)
   * @param steps rounds or epochs so far
   * @param planned rounds planned, when known
   * @param accuracy the latest test accuracy
   * @param updatedMillis when its files last changed
   * @param followed whether this is the run {@code --follow} names
   */
  @JsonInclude(JsonInclude.Include.NON_ABSENT)
  record Summary(
      String id,
      String kind,
      String state,
      int steps,
      Optional<Integer> planned,
      Optional<Double> accuracy,
      long updatedMillis,
      boolean followed) {}

  /**
   * One round as the page draws it.
   *
   * @param round the 1-based round
   * @param sampled sites asked to train
   * @param answered sites whose update went into the aggregate
   * @param failed sites left out, with their reasons
   * @param seconds the round's wall time
   * @param loss the global model's test loss
   * @param accuracy its test accuracy
   * @param precision macro precision
   * @param recall macro recall
   * @param f1 macro F1
   * @param federatedAccuracy the sites' own held-out accuracy
   * @param abandoned why the round produced no aggregate
   * @param bytesToSites payload bytes sent to sites
   * @param bytesFromSites payload bytes received
   * @param epsilon DP-FedAvg's user-level ε spent so far
   */
  @JsonInclude(JsonInclude.Include.NON_ABSENT)
  record Round(
      int round,
      int sampled,
      int answered,
      List<SiteFailure> failed,
      double seconds,
      Optional<Double> loss,
      Optional<Double> accuracy,
      Optional<Double> precision,
      Optional<Double> recall,
      Optional<Double> f1,
      Optional<Double> federatedAccuracy,
      Optional<String> abandoned,
      Optional<Long> bytesToSites,
      Optional<Long> bytesFromSites,
      Optional<Double> epsilon) {}

  /**
   * A federation's rounds and state: {@code /api/runs/{id}/rounds}.
   *
   * @param id the run
   * @param state as in {@link Summary}
   * @param mode {@code simulation} or {@code listen}, when known
   * @param planned rounds planned, when known
   * @param updatedMillis when its files last changed
   * @param rounds every round so far
   * @param sites the sites connected to a {@code --listen} server, with their last heartbeat
   */
  @JsonInclude(JsonInclude.Include.NON_ABSENT)
  record Rounds(
      String id,
      String state,
      Optional<String> mode,
      Optional<Integer> planned,
      long updatedMillis,
      List<Round> rounds,
      List<LiveStatus.Site> sites) {}

  /**
   * A central training run's epochs: {@code /api/runs/{id}/epochs}.
   *
   * @param id the run
   * @param model the network's name
   * @param epochs every epoch
   * @param testAccuracy the test accuracy at the end
   */
  @JsonInclude(JsonInclude.Include.NON_ABSENT)
  record Epochs(String id, String model, List<EpochResult> epochs, Optional<Double> testAccuracy) {}

  /** Every run, newest first; the followed one first of all. */
  List<Summary> list() throws IOException {
    Map<String, Path> found = new LinkedHashMap<>();
    followed.ifPresent(p -> found.put(p.getFileName().toString(), p));
    if (root.isPresent() && Files.isDirectory(root.get())) {
      try (Stream<Path> children = Files.list(root.get())) {
        for (Path child : children.sorted().toList()) {
          String name = child.getFileName().toString();
          if (ID.matcher(name).matches() && isRun(child) && !found.containsKey(name)) {
            found.put(name, child);
          }
        }
      }
    }
    List<Summary> out = new ArrayList<>();
    for (Map.Entry<String, Path> e : found.entrySet()) {
      out.add(summary(e.getKey(), e.getValue()));
    }
    out.sort(
        (a, b) ->
            a.followed() != b.followed()
                ? (a.followed() ? -1 : 1)
                : Long.compare(b.updatedMillis(), a.updatedMillis()));
    return out;
  }

  private static boolean isRun(Path dir) {
    return Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)
        && (Files.isRegularFile(dir.resolve(HISTORY))
            || Files.isRegularFile(dir.resolve(LiveStatus.FILE))
            || Files.isRegularFile(dir.resolve(TRAINING)));
  }

  /**
   * The folder of run {@code id}.
   *
   * @throws Refusal.Thrown 400 for a malformed id, 404 for an unknown one
   */
  Path folder(String id) throws Refusal.Thrown {
    if (!ID.matcher(id).matches()) {
      throw Refusal.of(400, "run id '" + Guard.clip(id) + "' is not a folder name; refused");
    }
    if (followed.isPresent() && followed.get().getFileName().toString().equals(id)) {
      return followed.get();
    }
    if (root.isPresent()) {
      Path dir = root.get().resolve(id).normalize();
      // No symbolic link leads out of the runs folder either.
      if (dir.getParent().equals(root.get()) && isRun(dir)) {
        return dir;
      }
    }
    throw Refusal.of(404, "no run '" + id + "'");
  }

  /** When any of the run's files last changed: the page's "something new" signal. */
  long version(String id) throws Refusal.Thrown {
    return version(folder(id));
  }

  private static long version(Path dir) {
    long latest = 0;
    for (String f : List.of(HISTORY, LiveStatus.FILE, TRAINING)) {
      try {
        latest = Math.max(latest, Files.getLastModifiedTime(dir.resolve(f)).toMillis());
      } catch (IOException e) {
        // Not written yet.
      }
    }
    return latest;
  }

  Summary summary(String id, Path dir) throws IOException {
    boolean isFollowed = followed.map(dir::equals).orElse(false);
    long updated = 0;
    for (String f : List.of(HISTORY, LiveStatus.FILE, TRAINING)) {
      if (Files.isRegularFile(dir.resolve(f))) {
        updated = Math.max(updated, Files.getLastModifiedTime(dir.resolve(f)).toMillis());
      }
    }
    if (Files.isRegularFile(dir.resolve(HISTORY))
        || Files.isRegularFile(dir.resolve(LiveStatus.FILE))) {
      Rounds r = rounds(id, dir);
      Optional<Double> accuracy =
          r.rounds().isEmpty()
              ? Optional.empty()
              : r.rounds().get(r.rounds().size() - 1).accuracy();
      return new Summary(
          id,
          "federation",
          r.state(),
          r.rounds().size(),
          r.planned(),
          accuracy,
          updated,
          isFollowed);
    }
    if (Files.isRegularFile(dir.resolve(TRAINING))) {
      TrainingRecord record = Json.read(dir.resolve(TRAINING), TrainingRecord.class);
      return new Summary(
          id,
          "training",
          "finished",
          record.epochs().size(),
          Optional.of(record.epochs().size()),
          record.test().map(Metrics::accuracy),
          updated,
          isFollowed);
    }
    return new Summary(
        id, "waiting", "not started", 0, Optional.empty(), Optional.empty(), 0, true);
  }

  /** {@code /api/runs/{id}/rounds}. */
  Rounds rounds(String id) throws Refusal.Thrown, IOException {
    Path dir = folder(id);
    if (!Files.isRegularFile(dir.resolve(HISTORY))
        && !Files.isRegularFile(dir.resolve(LiveStatus.FILE))
        && Files.isRegularFile(dir.resolve(TRAINING))) {
      throw Refusal.of(
          404,
          "run '"
              + id
              + "' is a central training run, without rounds: see /api/runs/"
              + id
              + "/epochs");
    }
    return rounds(id, dir);
  }

  private Rounds rounds(String id, Path dir) throws IOException {
    List<RoundResult> results =
        Files.isRegularFile(dir.resolve(HISTORY))
            ? Json.readList(dir.resolve(HISTORY), RoundResult.class)
            : List.of();
    Optional<LiveStatus> live =
        Files.isRegularFile(dir.resolve(LiveStatus.FILE))
            ? Optional.of(Json.read(dir.resolve(LiveStatus.FILE), LiveStatus.class))
            : Optional.empty();
    Map<Integer, LiveStatus.RoundTraffic> traffic = new LinkedHashMap<>();
    live.ifPresent(l -> l.rounds().forEach(t -> traffic.put(t.round(), t)));
    List<Round> rows = new ArrayList<>();
    for (RoundResult r : results) {
      Optional<LiveStatus.RoundTraffic> t = Optional.ofNullable(traffic.get(r.round()));
      rows.add(
          new Round(
              r.round(),
              r.sampled(),
              r.succeeded(),
              r.failures(),
              r.seconds(),
              r.test().map(Metrics::loss).filter(Double::isFinite),
              r.test().map(Metrics::accuracy),
              r.test().map(m -> m.macro().precision()),
              r.test().map(m -> m.macro().recall()),
              r.test().map(m -> m.macro().f1()),
              r.federated().map(Metrics::accuracy),
              r.abandoned(),
              t.map(LiveStatus.RoundTraffic::bytesToSites),
              t.map(LiveStatus.RoundTraffic::bytesFromSites),
              t.flatMap(LiveStatus.RoundTraffic::epsilon)));
    }
    long updated = version(dir);
    String state =
        live.map(l -> l.state().equals("running") && stale(l) ? "stopped" : l.state())
            .orElse(results.isEmpty() ? "not started" : "finished");
    return new Rounds(
        id,
        state,
        live.map(LiveStatus::mode),
        live.map(LiveStatus::roundsPlanned),
        updated,
        rows,
        live.map(LiveStatus::sites).orElse(List.of()));
  }

  /**
   * A run that says it is running but whose files have not changed for a long time: its process was
   * stopped. A simulation writes after every round, a {@code --listen} server every second.
   */
  private static boolean stale(LiveStatus l) {
    long quiet = System.currentTimeMillis() - l.updatedMillis();
    return l.mode().equals("listen") ? quiet > 60_000 : quiet > 3_600_000;
  }

  /** {@code /api/runs/{id}/epochs}. */
  Epochs epochs(String id) throws Refusal.Thrown, IOException {
    Path dir = folder(id);
    if (!Files.isRegularFile(dir.resolve(TRAINING))) {
      throw Refusal.of(404, "run '" + id + "' has no saved training record");
    }
    TrainingRecord record = Json.read(dir.resolve(TRAINING), TrainingRecord.class);
    return new Epochs(
        id,
        record.provenance().spec().name(),
        record.epochs(),
        record.test().map(Metrics::accuracy));
  }
}
