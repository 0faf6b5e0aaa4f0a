package io.mnistfl.train;

import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import io.mnistfl.model.WeightsCodec;
import io.mnistfl.model.WeightsFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

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

  /** Writes the three files into {@code dir}, creating it; each file appears whole or not. */
  public void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    Json.write(dir.resolve(SPEC), spec);
    Json.writeAtomically(dir.resolve(WEIGHTS), WeightsCodec.encode(weights));
    Json.write(dir.resolve(RECORD), record);
  }

  /**
   * Reads a directory written by {@link #write}.
   *
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
      throw new IOException(dir.resolve(WEIGHTS) + ": " + e.getMessage(), e);
    }
    TrainingRecord record = Json.read(dir.resolve(RECORD), TrainingRecord.class);
    return new ModelDirectory(spec, weights, record);
  }
}
