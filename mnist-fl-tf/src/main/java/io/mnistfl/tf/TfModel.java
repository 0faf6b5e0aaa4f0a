package io.mnistfl.tf;

import io.mnistfl.data.DataSource;
import io.mnistfl.data.Examples;
import io.mnistfl.data.Shuffle;
import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import io.mnistfl.train.EpochResult;
import io.mnistfl.train.LocalTraining;
import io.mnistfl.train.Model;
import io.mnistfl.train.ModelDirectory;
import io.mnistfl.train.TrainingListener;
import io.mnistfl.train.TrainingRecord;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;
import org.tensorflow.types.TInt64;

/**
 * A {@link Model} on a TensorFlow Java graph. Create with {@link #create(ModelSpec)} (initial
 * weights from the spec's seed) or {@link #load(Path)}; close to free the native graph and session.
 * Not thread-safe.
 */
public final class TfModel implements Model {
  /** Backend name recorded in training records. */
  public static final String BACKEND = "tensorflow-java " + tensorflowVersion();

  private static final int EVAL_BATCH = 500;

  private final ModelSpec spec;
  private final ModelGraph g;
  private final ExecutorService batchThread;
  private boolean closed;

  private TfModel(ModelSpec spec, TfOptions options) {
    Natives.require();
    this.spec = spec;
    this.g = new ModelGraph(spec, options);
    this.batchThread =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "mnist-fl-batches");
              t.setDaemon(true);
              return t;
            });
    try {
      setWeights(spec.initialWeights());
    } catch (RuntimeException | Error e) {
      close();
      throw e;
    }
  }

  /**
   * Fails now, naming the native dependency to add, unless TensorFlow's native library loads;
   * models check this themselves, so call it only to fail before slower work such as loading data.
   *
   * @throws IllegalStateException naming the missing artifact and classifier
   */
  public static void requireNatives() {
    Natives.require();
  }

  /**
   * A model with the spec's initial weights and default thread settings.
   *
   * @param spec the network and how to train it
   * @return the model; close it when done
   */
  public static TfModel create(ModelSpec spec) {
    return create(spec, TfOptions.defaults());
  }

  /**
   * A model with the spec's initial weights.
   *
   * @param spec the network and how to train it
   * @param options the session's thread settings
   * @return the model; close it when done
   */
  public static TfModel create(ModelSpec spec, TfOptions options) {
    return new TfModel(spec, options);
  }

  /**
   * Loads a model saved by {@link #save}, with default thread settings.
   *
   * @param dir the model's directory
   * @return the model; close it when done
   * @throws IOException naming the file that is missing or malformed, or when the weights do not
   *     fit the spec
   */
  public static TfModel load(Path dir) throws IOException {
    return load(dir, TfOptions.defaults());
  }

  /**
   * Loads a model saved by {@link #save}.
   *
   * @param dir the model's directory
   * @param options the session's thread settings
   * @return the model; close it when done
   * @throws IOException naming the file that is missing or malformed, or when the weights do not
   *     fit the spec
   */
  public static TfModel load(Path dir, TfOptions options) throws IOException {
    ModelDirectory saved = ModelDirectory.read(dir);
    TfModel model = new TfModel(saved.spec(), options);
    try {
      model.setWeights(saved.weights());
    } catch (IllegalArgumentException e) {
      model.close();
      throw new IOException(dir + ": weights do not fit spec.json: " + e.getMessage(), e);
    }
    return model;
  }

  /** The graph, for {@link StepProfile}. */
  ModelGraph graph() {
    checkOpen();
    return g;
  }

  @Override
  public ModelSpec spec() {
    return spec;
  }

  @Override
  public List<EpochResult> fit(
      DataSource train, DataSource validation, LocalTraining training, TrainingListener listener) {
    checkOpen();
    checkCompatible(train);
    if (train.size() == 0) {
      throw new IllegalArgumentException("training data " + train.name() + " is empty");
    }
    int batchSize = training.batchSize();
    double baseRate = training.learningRate();
    if (training.proximalMu() > 0) {
      g.session.run(g.snapshotAnchor);
    }
    long seed = spec.seed() ^ training.seed() * 0x9E3779B97F4A7C15L;
    Random shuffle = new Random(seed);
    List<EpochResult> results = new ArrayList<>();
    for (int epoch = 1; epoch <= training.epochs(); epoch++) {
      double rate = baseRate * Math.pow(spec.learningRateDecay(), epoch - 1);
      int[] order = Shuffle.permutation(train.size(), shuffle);
      BatchProducer batches =
          new BatchProducer(
              train,
              spec.numClasses(),
              order,
              batchSize,
              spec.augmentation(),
              shuffle.nextLong(),
              batchThread);
      long start = System.nanoTime();
      double lossSum = 0;
      double correct = 0;
      int steps = batches.steps();
      listener.epochStarted(epoch, training.epochs(), steps);
      Future<BatchProducer.Batch> next = batches.prepare(0);
      Optional<TFloat32> mu =
          training.proximalMu() > 0
              ? Optional.of(TFloat32.scalarOf((float) training.proximalMu()))
              : Optional.empty();
      try (TFloat32 lr = TFloat32.scalarOf((float) rate)) {
        for (int step = 0; step < steps; step++) {
          BatchProducer.Batch batch = await(next);
          if (step + 1 < steps) {
            next = batches.prepare(step + 1);
          }
          // Offsets for layers and replicas stay below 2^20, so step seeds never collide.
          float[] out = trainStep(batch, lr, mu, seed, ((long) epoch << 32 | step) << 20);
          lossSum += out[0] * batch.size();
          correct += out[1];
          int seen = Math.min(order.length, (step + 1) * batchSize);
          listener.stepFinished(step + 1, steps, lossSum / seen, correct / seen);
        }
      } finally {
        mu.ifPresent(TFloat32::close);
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      double valLoss = Double.NaN;
      double valAccuracy = Double.NaN;
      if (validation.size() > 0) {
        Metrics m = evaluate(validation);
        valLoss = m.loss();
        valAccuracy = m.accuracy();
      }
      EpochResult result =
          new EpochResult(
              epoch,
              training.epochs(),
              seconds,
              lossSum / train.size(),
              correct / train.size(),
              valLoss,
              valAccuracy,
              rate);
      results.add(result);
      listener.epochFinished(result);
    }
    return results;
  }

  private float[] trainStep(
      BatchProducer.Batch batch, TFloat32 lr, Optional<TFloat32> mu, long seed, long stepSeed) {
    ModelGraph.TrainHead head = g.head(batch.size());
    try (TFloat32 x =
            TFloat32.tensorOf(
                imageShape(batch.size()), DataBuffers.of(batch.images(), true, false));
        TInt32 y =
            TInt32.tensorOf(Shape.of(batch.size()), DataBuffers.of(batch.labels(), true, false));
        TInt64 dropoutSeed = TInt64.vectorOf(seed, stepSeed);
        Result r =
            feedStep(
                    head,
                    g.session
                        .runner()
                        .feed(g.images, x)
                        .feed(g.labels, y)
                        .feed(g.learningRate, lr)
                        .feed(g.dropoutSeed, dropoutSeed),
                    mu)
                .fetch(head.meanLoss())
                .fetch(head.correct())
                .run()) {
      return new float[] {((TFloat32) r.get(0)).getFloat(), ((TFloat32) r.get(1)).getFloat()};
    }
  }

  /** The plain step, or the proximal one (with μ fed) when μ is set. */
  private Session.Runner feedStep(
      ModelGraph.TrainHead head, Session.Runner runner, Optional<TFloat32> mu) {
    return mu.map(value -> runner.feed(g.proximalMu, value).addTarget(head.proximalStep()))
        .orElseGet(() -> runner.addTarget(head.step()));
  }

  private Shape imageShape(int count) {
    return Shape.of(count, spec.inputHeight(), spec.inputWidth(), 1);
  }

  private static <T> T await(Future<T> future) {
    try {
      return future.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while preparing a batch", e);
    } catch (ExecutionException e) {
      // A data source's bad example is the caller's to see as it was thrown.
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException("preparing a batch failed: " + e.getCause(), e.getCause());
    }
  }

  @Override
  public Metrics evaluate(DataSource data) {
    checkOpen();
    checkCompatible(data);
    int n = data.size();
    int[] actual = new int[n];
    int[] predicted = new int[n];
    double lossSum = 0;
    int pixels = data.imageSize();
    float[] images = new float[Math.min(EVAL_BATCH, Math.max(n, 1)) * pixels];
    float[] scratch = new float[pixels];
    for (int start = 0; start < n; start += EVAL_BATCH) {
      int size = Math.min(EVAL_BATCH, n - start);
      float[] batchImages = size * pixels == images.length ? images : new float[size * pixels];
      int[] batchLabels = new int[size];
      for (int i = 0; i < size; i++) {
        Examples.copyImage(data, start + i, scratch);
        System.arraycopy(scratch, 0, batchImages, i * pixels, pixels);
        batchLabels[i] = Examples.label(data, start + i, spec.numClasses());
        actual[start + i] = batchLabels[i];
      }
      try (TFloat32 x =
              TFloat32.tensorOf(imageShape(size), DataBuffers.of(batchImages, true, false));
          TInt32 y = TInt32.tensorOf(Shape.of(size), DataBuffers.of(batchLabels, true, false));
          Result r =
              g.session
                  .runner()
                  .feed(g.images, x)
                  .feed(g.labels, y)
                  .fetch(g.predictions)
                  .fetch(g.evalLossSum)
                  .run()) {
        TInt64 p = (TInt64) r.get(0);
        for (int i = 0; i < size; i++) {
          predicted[start + i] = (int) p.getLong(i);
        }
        lossSum += ((TFloat32) r.get(1)).getFloat();
      }
    }
    return Metrics.of(
        ConfusionMatrix.of(spec.numClasses(), actual, predicted),
        n == 0 ? Double.NaN : lossSum / n);
  }

  @Override
  public float[] predict(float[] pixels, int count) {
    checkOpen();
    int per = spec.inputHeight() * spec.inputWidth();
    if (pixels.length != count * per) {
      throw new IllegalArgumentException(
          "predict: "
              + count
              + " images need "
              + count * per
              + " pixel values, got "
              + pixels.length);
    }
    for (int i = 0; i < pixels.length; i++) {
      if (!(pixels[i] >= 0f && pixels[i] <= 1f)) {
        throw new IllegalArgumentException(
            "predict: image "
                + i / per
                + ", pixel "
                + i % per
                + " is "
                + pixels[i]
                + "; pixels must be numbers in [0, 1]");
      }
    }
    float[] out = new float[count * spec.numClasses()];
    for (int start = 0; start < count; start += EVAL_BATCH) {
      int size = Math.min(EVAL_BATCH, count - start);
      float[] batch = java.util.Arrays.copyOfRange(pixels, start * per, (start + size) * per);
      try (TFloat32 x = TFloat32.tensorOf(imageShape(size), DataBuffers.of(batch, true, false));
          Result r = g.session.runner().feed(g.images, x).fetch(g.probabilities).run()) {
        float[] probs = new float[size * spec.numClasses()];
        ((TFloat32) r.get(0)).copyTo(DataBuffers.of(probs, false, false));
        System.arraycopy(probs, 0, out, start * spec.numClasses(), probs.length);
      }
    }
    return out;
  }

  @Override
  public Weights weights() {
    checkOpen();
    Session.Runner runner = g.session.runner();
    for (ModelGraph.StoredParameter p : g.stored) {
      p.shards().forEach(runner::fetch);
    }
    List<Weights.NamedArray> arrays = new ArrayList<>(g.stored.size());
    try (Result r = runner.run()) {
      int fetched = 0;
      for (ModelGraph.StoredParameter p : g.stored) {
        float[] values = new float[p.parameter().size()];
        int offset = 0;
        for (int b = 0; b < p.shards().size(); b++) {
          TFloat32 block = (TFloat32) r.get(fetched++);
          int length = (int) block.size();
          // Copy out now: a fetched variable tensor shares memory with the variable.
          block.copyTo(DataBuffers.of(values, false, false).slice(offset, length));
          offset += length;
        }
        arrays.add(new Weights.NamedArray(p.parameter().name(), p.parameter().shape(), values));
      }
    }
    return new Weights(arrays);
  }

  @Override
  public void setWeights(Weights weights) {
    checkOpen();
    List<Weights.NamedArray> arrays = weights.arrays();
    if (arrays.size() != g.stored.size()) {
      throw new IllegalArgumentException(
          "weights have "
              + arrays.size()
              + " arrays, model "
              + spec.name()
              + " has "
              + g.stored.size());
    }
    List<TFloat32> tensors = new ArrayList<>();
    try {
      Session.Runner runner = g.session.runner();
      for (int i = 0; i < arrays.size(); i++) {
        ModelGraph.StoredParameter p = g.stored.get(i);
        Weights.NamedArray a = arrays.get(i);
        if (!a.name().equals(p.parameter().name())
            || !java.util.Arrays.equals(a.shape(), p.parameter().shape())) {
          throw new IllegalArgumentException(
              "weight array "
                  + i
                  + " is "
                  + a
                  + ", model "
                  + spec.name()
                  + " expects "
                  + p.parameter());
        }
        int offset = 0;
        for (int b = 0; b < p.shards().size(); b++) {
          Shape shape = p.shards().get(b).shape();
          int length = (int) shape.size();
          TFloat32 t =
              TFloat32.tensorOf(
                  shape, DataBuffers.of(a.values(), true, false).slice(offset, length));
          tensors.add(t);
          runner.feed(p.assignInputs().get(b), t);
          offset += length;
        }
      }
      runner.addTarget(g.assignAll).addTarget(g.resetOptimizer).run().close();
    } finally {
      tensors.forEach(TFloat32::close);
    }
  }

  @Override
  public void save(Path dir, TrainingRecord record) throws IOException {
    new ModelDirectory(spec, weights(), record).write(dir);
  }

  private void checkCompatible(DataSource data) {
    if (data.height() != spec.inputHeight() || data.width() != spec.inputWidth()) {
      throw new IllegalArgumentException(
          data.name()
              + " has "
              + data.height()
              + "x"
              + data.width()
              + " images, model "
              + spec.name()
              + " expects "
              + spec.inputHeight()
              + "x"
              + spec.inputWidth());
    }
    if (data.numClasses() > spec.numClasses()) {
      throw new IllegalArgumentException(
          data.name()
              + " has "
              + data.numClasses()
              + " classes, model "
              + spec.name()
              + " has "
              + spec.numClasses());
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("model " + spec.name() + " is closed");
    }
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      batchThread.shutdownNow();
      g.close();
    }
  }

  private static String tensorflowVersion() {
    String v = org.tensorflow.TensorFlow.class.getPackage().getImplementationVersion();
    return v == null ? "1.1.0" : v;
  }
}
