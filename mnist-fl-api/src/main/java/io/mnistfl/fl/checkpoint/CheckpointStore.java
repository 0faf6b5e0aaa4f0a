package io.mnistfl.fl.checkpoint;

import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.internal.FileTrees;
import io.mnistfl.model.Weights;
import io.mnistfl.model.WeightsCodec;
import io.mnistfl.train.Json;
import io.mnistfl.train.Provenance;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;

/**
 * A folder of checkpoints, one sub-folder per round ({@code round-000007}), each written as one
 * unit: its parts ({@code provenance.json}, {@code history.json}, {@code weights.bin} and, for a
 * stateful strategy, {@code state.bin}) go into a hidden folder with a {@code manifest.json}
 * holding every part's SHA-256, are synced to disk, and the folder becomes visible by one atomic
 * rename. A crash at any point leaves either the whole checkpoint or none. The newest few are kept.
 * Reading checks every part against the manifest and names the first that is missing or fails its
 * checksum; {@link #latest()} never falls back to an older checkpoint silently.
 */
public final class CheckpointStore {
  static final String MANIFEST = "manifest.json";
  static final String PROVENANCE = "provenance.json";
  static final String HISTORY = "history.json";
  static final String WEIGHTS = "weights.bin";
  static final String STATE = "state.bin";
  private static final String PREFIX = "round-";
  private static final String PARTIAL = ".partial-";

  /** Called after each part is written; tests abort a write through it. */
  interface PartHook {
    void written(String part) throws IOException;
  }

  private final Path dir;
  private final int keep;
  private final PartHook hook;

  /**
   * A store in {@code dir} keeping the newest {@code keep} checkpoints, {@code keep >= 1}.
   *
   * @param dir the folder holding the checkpoints
   * @param keep how many checkpoints to keep
   * @throws IllegalArgumentException when {@code keep < 1}
   */
  public CheckpointStore(Path dir, int keep) {
    this(dir, keep, part -> {});
  }

  CheckpointStore(Path dir, int keep, PartHook hook) {
    if (keep < 1) {
      throw new IllegalArgumentException("keep must be >= 1, was " + keep);
    }
    this.dir = dir;
    this.keep = keep;
    this.hook = hook;
  }

  /**
   * Deletes every checkpoint and the folder, so that a fresh run never mixes with an earlier one.
   *
   * @throws IOException when an entry cannot be deleted
   */
  public void clear() throws IOException {
    FileTrees.delete(dir);
  }

  /**
   * The folder.
   *
   * @return the folder holding the checkpoints
   */
  public Path dir() {
    return dir;
  }

  /** The manifest: what parts a checkpoint has, and their digests. */
  record Manifest(int format, int round, Map<String, String> sha256) {}

  /** The rounds and their bookkeeping; the weights and the state are parts of their own. */
  record HistoryPart(List<RoundResult> rounds, OptionalInt roundsToTarget, double totalSeconds) {}

  /**
   * Writes {@code checkpoint} as one unit, then prunes all but the newest kept.
   *
   * @param checkpoint the checkpoint to save
   * @throws IOException when a part cannot be written or the folder updated
   */
  public void save(Checkpoint checkpoint) throws IOException {
    FederationHistory h = checkpoint.history();
    int round = h.rounds().size();
    Files.createDirectories(dir);
    Path partial = dir.resolve(PARTIAL + name(round) + "-" + System.nanoTime());
    Files.createDirectory(partial);
    Map<String, byte[]> parts = new LinkedHashMap<>();
    parts.put(
        PROVENANCE,
        Json.toJson(checkpoint.provenance()).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    parts.put(
        HISTORY,
        Json.toJson(new HistoryPart(h.rounds(), h.roundsToTarget(), h.totalSeconds()))
            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    parts.put(WEIGHTS, WeightsCodec.encode(h.finalWeights()));
    if (!h.strategyState().isEmpty()) {
      parts.put(STATE, encodeState(h.strategyState()));
    }
    Map<String, String> digests = new LinkedHashMap<>();
    for (Map.Entry<String, byte[]> part : parts.entrySet()) {
      writeSynced(partial.resolve(part.getKey()), part.getValue());
      digests.put(part.getKey(), sha256(part.getValue()));
      hook.written(part.getKey());
    }
    writeSynced(
        partial.resolve(MANIFEST),
        Json.toJson(new Manifest(1, round, digests))
            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    hook.written(MANIFEST);
    sync(partial);
    Path target = dir.resolve(name(round));
    if (Files.exists(target)) {
      FileTrees.delete(target);
    }
    Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
    sync(dir);
    prune();
  }

  /**
   * The names of the visible checkpoints, oldest first.
   *
   * @return the names, e.g. {@code round-000007}; empty when the folder does not exist
   * @throws IOException when the folder cannot be listed
   */
  public List<String> names() throws IOException {
    if (!Files.isDirectory(dir)) {
      return List.of();
    }
    try (Stream<Path> entries = Files.list(dir)) {
      return entries
          .map(p -> p.getFileName().toString())
          .filter(n -> n.matches(PREFIX + "\\d{6}"))
          .sorted()
          .toList();
    }
  }

  /**
   * The newest checkpoint, read and checked; empty when there is none. A newest checkpoint that is
   * damaged is refused, naming the part: an older one is read only through {@link #load(String)}.
   *
   * @return the newest checkpoint, if any
   * @throws IOException naming the part that is missing, fails its checksum or is malformed
   */
  public Optional<Checkpoint> latest() throws IOException {
    List<String> names = names();
    return names.isEmpty() ? Optional.empty() : Optional.of(load(names.get(names.size() - 1)));
  }

  /**
   * The checkpoint named {@code name} (e.g. {@code round-000007}), read and checked.
   *
   * @param name the checkpoint's name, as {@link #names()} lists it
   * @return the checkpoint
   * @throws IOException naming the part that is missing, fails its checksum or is malformed
   */
  public Checkpoint load(String name) throws IOException {
    Path folder = dir.resolve(name);
    if (!name.matches(PREFIX + "\\d{6}") || !Files.isDirectory(folder)) {
      throw new NoSuchFileException(folder + ": no such checkpoint (have " + names() + ")");
    }
    Manifest manifest = Json.read(part(folder, MANIFEST), Manifest.class);
    for (String required : List.of(PROVENANCE, HISTORY, WEIGHTS)) {
      if (!manifest.sha256().containsKey(required)) {
        throw new IOException(folder.resolve(MANIFEST) + " lists no part " + required);
      }
    }
    Map<String, byte[]> parts = new LinkedHashMap<>();
    for (Map.Entry<String, String> entry : manifest.sha256().entrySet()) {
      Path file = part(folder, entry.getKey());
      byte[] bytes = Files.readAllBytes(file);
      if (!sha256(bytes).equals(entry.getValue())) {
        throw new IOException(file + " fails its checksum: the checkpoint is damaged");
      }
      parts.put(entry.getKey(), bytes);
    }
    // The bytes whose checksums were checked, not the files read again.
    Provenance provenance = parse(folder, PROVENANCE, parts, Provenance.class);
    HistoryPart history = parse(folder, HISTORY, parts, HistoryPart.class);
    if (history.rounds().size() != manifest.round()) {
      throw new IOException(
          folder.resolve(HISTORY)
              + " holds "
              + history.rounds().size()
              + " rounds, the manifest says "
              + manifest.round());
    }
    Weights weights = WeightsCodec.decode(parts.get(WEIGHTS));
    List<double[]> state =
        parts.containsKey(STATE) ? decodeState(folder.resolve(STATE), parts.get(STATE)) : List.of();
    return new Checkpoint(
        provenance,
        new FederationHistory(
            history.rounds(), history.roundsToTarget(), history.totalSeconds(), weights, state));
  }

  private static <T> T parse(Path folder, String name, Map<String, byte[]> parts, Class<T> type)
      throws IOException {
    try {
      return Json.parse(new String(parts.get(name), StandardCharsets.UTF_8), type);
    } catch (IOException e) {
      throw new IOException(folder.resolve(name) + ": " + e.getMessage(), e);
    }
  }

  private static Path part(Path folder, String name) throws IOException {
    Path file = folder.resolve(name);
    if (!Files.isRegularFile(file)) {
      throw new NoSuchFileException(file + ": the checkpoint lacks its part " + name);
    }
    return file;
  }

  private void prune() throws IOException {
    List<String> names = names();
    for (int i = 0; i < names.size() - keep; i++) {
      FileTrees.delete(dir.resolve(names.get(i)));
    }
    try (Stream<Path> entries = Files.list(dir)) {
      for (Path p : entries.filter(p -> p.getFileName().toString().startsWith(PARTIAL)).toList()) {
        FileTrees.delete(p);
      }
    }
  }

  private static String name(int round) {
    return String.format(PREFIX + "%06d", round);
  }

  /** The state as {@code arrays u32, per array: length u32 and f64 values}, little-endian. */
  private static byte[] encodeState(List<double[]> state) {
    long size = 4;
    for (double[] a : state) {
      size += 4 + 8L * a.length;
    }
    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(size)).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(state.size());
    for (double[] a : state) {
      b.putInt(a.length);
      b.asDoubleBuffer().put(a);
      b.position(b.position() + 8 * a.length);
    }
    return b.array();
  }

  private static List<double[]> decodeState(Path file, byte[] bytes) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    List<double[]> state = new ArrayList<>();
    try {
      int count = b.getInt();
      for (int i = 0; i < count; i++) {
        int length = b.getInt();
        if (length < 0 || length > b.remaining() / 8) {
          throw new IOException(
              file
                  + ": array "
                  + i
                  + " claims "
                  + length
                  + " values, "
                  + b.remaining() / 8
                  + " remain");
        }
        double[] a = new double[length];
        b.asDoubleBuffer().get(a);
        b.position(b.position() + 8 * length);
        state.add(a);
      }
    } catch (BufferUnderflowException e) {
      throw new IOException(file + ": truncated");
    }
    if (b.hasRemaining()) {
      throw new IOException(file + ": " + b.remaining() + " unexpected trailing bytes");
    }
    return state;
  }

  private static void writeSynced(Path file, byte[] bytes) throws IOException {
    try (FileChannel out =
        FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer b = ByteBuffer.wrap(bytes);
      while (b.hasRemaining()) {
        out.write(b);
      }
      out.force(true);
    }
  }

  /** Syncs a folder's entries to disk, so a rename into or inside it survives a power cut. */
  private static void sync(Path folder) throws IOException {
    try (FileChannel channel = FileChannel.open(folder, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException e) {
      // Some file systems cannot open a folder for syncing; the data files are synced anyway.
    }
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK always provides SHA-256", e);
    }
  }
}
