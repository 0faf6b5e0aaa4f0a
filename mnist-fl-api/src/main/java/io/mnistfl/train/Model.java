package io.mnistfl.train;

import io.mnistfl.data.DataSource;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A classifier built from a {@link ModelSpec} on some backend, holding native resources until
 * {@link #close()}. Not thread-safe: use one model per thread.
 */
public interface Model extends AutoCloseable {

  /**
   * The spec this model was built from.
   *
   * @return the spec
   */
  ModelSpec spec();

  /**
   * Trains on {@code train}; after each epoch evaluates on {@code validation} unless it is empty.
   *
   * @param train the examples to train on
   * @param validation the examples to validate on after each epoch; may be empty
   * @param training epochs, batch size, learning rate, proximal term and seed
   * @param listener told of every epoch and step
   * @return one result per epoch
   */
  List<EpochResult> fit(
      DataSource train, DataSource validation, LocalTraining training, TrainingListener listener);

  /**
   * Loss, accuracy, precision, recall, F1 and confusion matrix on {@code data}.
   *
   * @param data the examples to evaluate on
   * @return the metrics
   */
  Metrics evaluate(DataSource data);

  /**
   * Class probabilities of {@code count} images stored one after another in {@code pixels} (each
   * {@code height·width} values in {@code [0, 1]}).
   *
   * @param pixels the images, one after another
   * @param count the number of images
   * @return {@code count × numClasses} probabilities, image by image
   */
  float[] predict(float[] pixels, int count);

  /**
   * The most probable class of each of {@code count} images stored one after another in {@code
   * pixels}: the argmax of {@link #predict}.
   *
   * @param pixels {@code count × height × width} values in {@code [0, 1]}
   * @param count how many images
   * @return one class per image
   */
  default int[] classify(float[] pixels, int count) {
    float[] probabilities = predict(pixels, count);
    int classes = spec().numClasses();
    int[] best = new int[count];
    for (int i = 0; i < count; i++) {
      for (int c = 1; c < classes; c++) {
        if (probabilities[i * classes + c] > probabilities[i * classes + best[i]]) {
          best[i] = c;
        }
      }
    }
    return best;
  }

  /**
   * A copy of every variable.
   *
   * @return the weights
   */
  Weights weights();

  /**
   * Replaces every variable and resets the optimizer's state (momentum, moments).
   *
   * @param weights the new weights, with the spec's layout
   * @throws IllegalArgumentException naming the first array whose name or shape differs
   */
  void setWeights(Weights weights);

  /**
   * Writes the spec, the weights and {@code record} to {@code dir} (created if needed).
   *
   * @param dir the directory to write into
   * @param record how the model was trained
   * @throws IOException when a file cannot be written
   */
  void save(Path dir, TrainingRecord record) throws IOException;

  /** Releases native resources. */
  @Override
  void close();
}
