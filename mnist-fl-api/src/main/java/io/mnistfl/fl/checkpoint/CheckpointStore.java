package io.mnistfl.fl.checkpoint;

import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.fl.StrategyState;
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
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A folder of checkpoints, one sub-folder per round ({@code round-000007}), each written as one
 * unit: its parts ({@code provenance.json}, {@code history.json}, {@code weights.bin} and, for a
 * stateful strategy, {@code state.bin}) go into a hidden folder with a {@code manifest.json}
 * holding every part's SHA-256, are synced to disk, and the folder becomes visible by one atomic
 * rename. A crash at any point leaves either the whole checkpoint or none. The newest few of the
 * run are kept. Reading checks every part against the manifest and names the first that is missing
 * or fails its checksum, and the folder's name against the round its manifest records (a renamed or
 * copied folder is refused); {@link #latest()} never falls back to an older checkpoint silently,
 * and refuses a folder holding checkpoints of more than one run (each manifest records its run's
 * id): {@link #load(String)} takes one of them by name.
 *
 * <p>Format 2 (written now) records the run id and keeps the strategy's state by name ({@link
 * io.mnistfl.fl.StrategyState}); format 1 checkpoints still load, their state by position and
 * without a run id.
 */
public final class CheckpointStore {
  static final String MANIFEST = "manifest.json";
  static final String PROVENANCE = "provenance.json";
  static final String HISTORY = "history.json";
  static final String WEIGHTS = "weights.bin";
  static final String STATE = "state.bin";
  private static final String PREFIX = "round-";
  private static final int FORMAT = 2;
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

  /**
   * The manifest: the format, the round, the run (empty in format 1), what parts a checkpoint has
   * and their digests.
   */
  record Manifest(int format, int round, String runId, Map<String, String> sha256) {}

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
    if (checkpoint.runId().isEmpty()) {
      throw new IllegalArgumentException("a checkpoint is saved with its run's id");
    }
    Map<String, String> digests = new LinkedHashMap<>();
    for (Map.Entry<String, byte[]> part : parts.entrySet()) {
      writeSynced(partial.resolve(part.getKey()), part.getValue());
      digests.put(part.getKey(), sha256(part.getValue()));
      hook.written(part.getKey());
    }
    writeSynced(
        partial.resolve(MANIFEST),
        Json.toJson(new Manifest(FORMAT, round, checkpoint.runId(), digests))
            .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    hook.written(MANIFEST);
    sync(partial);
    Path target = dir.resolve(name(round));
    if (Files.exists(target)) {
      FileTrees.delete(target);
    }
    Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
    sync(dir);
    prune(checkpoint.runId());
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
    if (names.isEmpty()) {
      return Optional.empty();
    }
    String newest = names.get(names.size() - 1);
    Checkpoint latest = load(newest);
    for (String name : names) {
      Manifest m = manifest(dir.resolve(name));
      // Format 1 recorded no run: such a checkpoint may precede its run's newer ones.
      if (!m.runId().isEmpty() && !m.runId().equals(latest.runId())) {
        throw new IOException(
            dir
                + " holds checkpoints of more than one run: "
                + newest
                + " is of run "
                + describe(latest.runId())
                + ", "
                + name
                + " of run "
                + describe(m.runId())
                + "; resume one of them by name");
      }
    }
    return Optional.of(latest);
  }

  private static String describe(String runId) {
    return runId.isEmpty() ? "(none recorded: format 1)" : runId;
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
    Manifest manifest = manifest(folder);
    int named = Integer.parseInt(name.substring(PREFIX.length()));
    if (manifest.round() != named) {
      throw new IOException(
          folder
              + " holds the checkpoint of round "
              + manifest.round()
              + " (its manifest says so): the folder was renamed or copied; a checkpoint is"
              + " named after its round");
    }
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
    StrategyState state =
        !parts.containsKey(STATE)
            ? StrategyState.empty()
            : manifest.format() == 1
                ? StrategyState.ofPositional(decodeStateV1(folder.resolve(STATE), parts.get(STATE)))
                : decodeState(folder.resolve(STATE), parts.get(STATE));
    return new Checkpoint(
        provenance,
        new FederationHistory(
            history.rounds(), history.roundsToTarget(), history.totalSeconds(), weights, state),
        manifest.runId());
  }

  /** A folder's manifest, its format and run id checked. */
  private static Manifest manifest(Path folder) throws IOException {
    Manifest m = Json.read(part(folder, MANIFEST), Manifest.class);
    if (m.format() < 1 || m.format() > FORMAT) {
      throw new IOException(
          folder.resolve(MANIFEST)
              + ": checkpoint format "
              + m.format()
              + ", this library reads 1 to "
              + FORMAT);
    }
    String runId = m.runId() == null ? "" : m.runId();
    if (m.format() >= 2 && !runId.matches("[0-9a-f]{32}")) {
      throw new IOException(folder.resolve(MANIFEST) + ": a malformed run id: " + runId);
    }
    if (m.sha256() == null) {
      throw new IOException(folder.resolve(MANIFEST) + " lists no parts");
    }
    return new Manifest(m.format(), m.round(), runId, m.sha256());
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

  /** Deletes all but the newest {@link #keep} checkpoints of {@code runId}; others stay. */
  private void prune(String runId) throws IOException {
    List<String> mine = new ArrayList<>();
    for (String name : names()) {
      try {
        Manifest m = manifest(dir.resolve(name));
        if (m.runId().equals(runId) && name.equals(name(m.round()))) {
          mine.add(name);
        }
      } catch (IOException | RuntimeException e) {
        // Not one of this run's checkpoints: never delete what cannot be read.
      }
    }
    for (int i = 0; i < mine.size() - keep; i++) {
      FileTrees.delete(dir.resolve(mine.get(i)));
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

  /**
   * The state, format 2: {@code entries u32}, then per entry {@code kind u8} (0 an array, 1 a
   * scalar), {@code name} (u16 length, UTF-8), and an array's {@code length u32} and f64 values or
   * a scalar's f64; little-endian, arrays then scalars, each by name.
   */
  private static byte[] encodeState(StrategyState state) {
    long size = 4;
    for (Map.Entry<String, double[]> a : state.arrays().entrySet()) {
      size += 1 + 2 + a.getKey().length() + 4 + 8L * a.getValue().length;
    }
    for (String name : state.scalars().keySet()) {
      size += 1 + 2 + name.length() + 8;
    }
    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(size)).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(state.arrays().size() + state.scalars().size());
    state
        .arrays()
        .forEach(
            (name, values) -> {
              putName(b.put((byte) 0), name);
              b.putInt(values.length);
              b.asDoubleBuffer().put(values);
              b.position(b.position() + 8 * values.length);
            });
    state.scalars().forEach((name, value) -> putName(b.put((byte) 1), name).putDouble(value));
    return b.array();
  }

  private static ByteBuffer putName(ByteBuffer b, String name) {
    // Names are ASCII (StrategyState checks them): one byte a character.
    byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
    return b.putShort((short) bytes.length).put(bytes);
  }

  private static StrategyState decodeState(Path file, byte[] bytes) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    SortedMap<String, double[]> arrays = new TreeMap<>();
    SortedMap<String, Double> scalars = new TreeMap<>();
    try {
      int count = b.getInt();
      if (count < 0 || count > b.remaining() / 11) {
        throw new IOException(
            file + ": claims " + count + " entries in " + bytes.length + " bytes");
      }
      for (int i = 0; i < count; i++) {
        int kind = b.get();
        int length = Short.toUnsignedInt(b.getShort());
        if (length > b.remaining()) {
          throw new IOException(file + ": entry " + i + " is truncated");
        }
        byte[] nameBytes = new byte[length];
        b.get(nameBytes);
        String name = new String(nameBytes, StandardCharsets.US_ASCII);
        if (arrays.containsKey(name) || scalars.containsKey(name)) {
          throw new IOException(file + ": entry " + name + " appears twice");
        }
        if (kind == 0) {
          arrays.put(name, doubles(file, b, name));
        } else if (kind == 1) {
          scalars.put(name, b.getDouble());
        } else {
          throw new IOException(file + ": entry " + name + " is of unknown kind " + kind);
        }
      }
      if (b.hasRemaining()) {
        throw new IOException(file + ": " + b.remaining() + " unexpected trailing bytes");
      }
      return new StrategyState(arrays, scalars);
    } catch (BufferUnderflowException e) {
      throw new IOException(file + ": truncated");
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
  }

  /** An array's {@code length u32} and values, the length checked against what remains. */
  private static double[] doubles(Path file, ByteBuffer b, String name) throws IOException {
    int length = b.getInt();
    if (length < 0 || length > b.remaining() / 8) {
      throw new IOException(
          file
              + ": array "
              + name
              + " claims "
              + length
              + " values, "
              + b.remaining() / 8
              + " remain");
    }
    double[] a = new double[length];
    b.asDoubleBuffer().get(a);
    b.position(b.position() + 8 * length);
    return a;
  }

  /** Format 1's state: {@code arrays u32, per array: length u32 and f64 values}, by position. */
  private static List<double[]> decodeStateV1(Path file, byte[] bytes) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    List<double[]> state = new ArrayList<>();
    try {
      int count = b.getInt();
      for (int i = 0; i < count; i++) {
        state.add(doubles(file, b, String.valueOf(i)));
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
