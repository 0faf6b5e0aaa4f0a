package io.mnistfl.train;

import io.mnistfl.internal.FileTrees;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import io.mnistfl.model.WeightsCodec;
import io.mnistfl.model.WeightsFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;

/**
 * The on-disk layout of a saved model, the same for every backend: {@code spec.json} (the {@link
 * ModelSpec}), {@code weights.bin} (the {@link WeightsCodec} format) and {@code training.json} (the
 * {@link TrainingRecord}).
 *
 * @param spec how to rebuild the network
 * @param weights every variable
 * @param record how the model was trained
 */
public record ModelDirectory(ModelSpec spec, Weights weights, TrainingRecord record) {
  static final String SPEC = "spec.json";
  static final String WEIGHTS = "weights.bin";
  static final String RECORD = "training.json";

  /**
   * Writes the three files into {@code dir}, as a whole: into a fresh sibling folder first, which
   * then takes the place of any earlier model, so that a reader sees the old model or the new one,
   * never a mix.
   *
   * @param dir the model's directory
   * @throws IOException when a file cannot be written or the folder moved into place
   */
  public void write(Path dir) throws IOException {
    Path absolute = dir.toAbsolutePath();
    Files.createDirectories(absolute.getParent());
    Path fresh = absolute.resolveSibling(absolute.getFileName() + ".new-" + System.nanoTime());
    Files.createDirectory(fresh);
    Json.write(fresh.resolve(SPEC), spec);
    Json.writeAtomically(fresh.resolve(WEIGHTS), WeightsCodec.encode(weights));
    Json.write(fresh.resolve(RECORD), record);
    Path old = absolute.resolveSibling(absolute.getFileName() + ".old-" + System.nanoTime());
    if (Files.exists(absolute)) {
      Files.move(absolute, old, StandardCopyOption.ATOMIC_MOVE);
    }
    Files.move(fresh, absolute, StandardCopyOption.ATOMIC_MOVE);
    FileTrees.delete(old);
  }

  /**
   * Reads a directory written by {@link #write}.
   *
   * @param dir the model's directory
   * @return the spec, weights and training record
   * @throws IOException naming the missing or malformed file
   */
  public static ModelDirectory read(Path dir) throws IOException {
    for (String file : new String[] {SPEC, WEIGHTS, RECORD}) {
      if (!Files.isRegularFile(dir.resolve(file))) {
        throw new IOException(dir + " is not a saved model: " + file + " is missing");
      }
    }
    ModelSpec spec = Json.read(dir.resolve(SPEC), ModelSpec.class);
    Weights weights;
    try {
      weights = WeightsCodec.decode(Files.readAllBytes(dir.resolve(WEIGHTS)));
    } catch (WeightsFormatException e) {
      throw new WeightsFormatException(dir.resolve(WEIGHTS) + ": " + e.getMessage());
    }
    return new ModelDirectory(spec, weights, readRecord(dir.resolve(RECORD), spec));
  }

  /**
   * The record, or for a model saved before records held a {@link Provenance} (version 0.1.0 until
   * the provenance record), one that says so and keeps its epochs and test metrics.
   */
  private static TrainingRecord readRecord(Path file, ModelSpec spec) throws IOException {
    if (Json.hasField(file, "provenance")) {
      return Json.read(file, TrainingRecord.class);
    }
    LegacyRecord old = Json.read(file, LegacyRecord.class);
    return new TrainingRecord(
        Provenance.builder(spec)
            .kind("saved before provenance records")
            .data(old.trainData() == null ? "" : old.trainData(), old.trainExamples())
            .build(),
        old.history(),
        old.test(),
        old.wallSeconds());
  }

  /** The fields of a training record before provenance records. */
  private record LegacyRecord(
      String trainData,
      int trainExamples,
      List<EpochResult> history,
      Optional<Metrics> test,
      double wallSeconds) {}
}
