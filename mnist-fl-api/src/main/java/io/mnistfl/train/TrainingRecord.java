package io.mnistfl.train;

import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.ModelSpec;
import java.util.List;
import java.util.Optional;

/**
 * Provenance saved with a model: what it was trained on, how, and how well it did.
 *
 * @param spec the model and training setup
 * @param trainData name of the training data
 * @param trainExamples training examples; for a federated model, those on the simulated clients
 *     (0 when the clients were remote and kept their counts)
 * @param validationExamples validation examples
 * @param epochs epochs trained; for a federated model, the rounds
 * @param history per-epoch results
 * @param test metrics on the test set, if measured
 * @param wallSeconds total training wall time
 * @param createdAt ISO-8601 instant the model was saved
 * @param backend the backend and its version, e.g. {@code tensorflow-java 1.1.0}
 * @param federation for a model trained by federated learning, how: clients, partition,
 *     sampling, local training, aggregator and rounds; empty for central training
 */
public record TrainingRecord(
    ModelSpec spec,
    String trainData,
    int trainExamples,
    int validationExamples,
    int epochs,
    List<EpochResult> history,
    Optional<Metrics> test,
    double wallSeconds,
    String createdAt,
    String backend,
    Optional<String> federation) {

  public TrainingRecord {
    history = List.copyOf(history);
    // Records saved before federated models had one read the absent field as null.
    federation = federation == null ? Optional.empty() : federation;
  }
}
