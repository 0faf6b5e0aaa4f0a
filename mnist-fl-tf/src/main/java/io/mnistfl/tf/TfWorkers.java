package io.mnistfl.tf;

import io.mnistfl.data.DataSource;
import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;
import java.util.stream.IntStream;

/**
 * A pool of model workers for simulated sites: K graphs and sessions of one spec, each with its own
 * thread budget, lent to one site at a time. Sites train side by side on free workers, and memory
 * grows with K, never with the number of sites. A site's result does not depend on the worker that
 * runs it: weights and the optimizer's state are set at the start of every fit, and shuffling and
 * dropout are seeded by the fit alone. Bit-identical results across K need the same threads per
 * worker, as TensorFlow's kernels split their sums by thread.
 */
public final class TfWorkers implements AutoCloseable {
  private final List<TfModel> models;
  private final BlockingQueue<TfModel> free;
  private final boolean owned;

  private TfWorkers(List<TfModel> models, boolean owned) {
    this.models = List.copyOf(models);
    this.free = new ArrayBlockingQueue<>(models.size(), true, models);
    this.owned = owned;
  }

  /**
   * {@code workers} models of {@code spec}, each with {@code threadsPerWorker} threads (and, from
   * two threads, two replicas per step, as {@link TfOptions#threads} has it).
   *
   * @param spec the network every worker builds
   * @param workers K, {@code >= 1}
   * @param threadsPerWorker TensorFlow threads of each worker's session
   * @return the pool; close it to free the models
   */
  public static TfWorkers create(ModelSpec spec, int workers, int threadsPerWorker) {
    if (workers < 1) {
      throw new IllegalArgumentException("workers must be >= 1, was " + workers);
    }
    List<TfModel> models = new ArrayList<>();
    try {
      for (int i = 0; i < workers; i++) {
        models.add(TfModel.create(spec, TfOptions.threads(threadsPerWorker)));
      }
    } catch (RuntimeException e) {
      models.forEach(TfModel::close);
      throw e;
    }
    return new TfWorkers(models, true);
  }

  /**
   * One shared model as a pool of one; closing the pool leaves the model open. Pools of the same
   * model, and code that synchronizes on it, take turns on it.
   *
   * @param model the shared model
   * @return a pool of one
   */
  public static TfWorkers of(TfModel model) {
    return new TfWorkers(List.of(model), false);
  }

  /**
   * The number of workers the machine suits for {@code spec}: one single-threaded worker per core
   * for small batches, whose steps are too short to keep several threads busy; one worker per two
   * cores otherwise (batch norm or batches of 64 and more), which gain from a second thread per
   * step.
   *
   * @param spec the model the workers train
   * @param cores the threads available
   * @return K
   */
  public static int suggested(ModelSpec spec, int cores) {
    boolean smallSteps =
        spec.batchSize() < 64
            && spec.layers().stream().noneMatch(io.mnistfl.model.Layer.BatchNorm.class::isInstance);
    return Math.max(1, smallSteps ? cores : cores / 2);
  }

  /**
   * How many workers there are.
   *
   * @return K
   */
  public int size() {
    return models.size();
  }

  /**
   * Runs {@code task} on a free worker, waiting for one; the worker is someone else's as soon as
   * the task returns.
   *
   * @param task what to do with the model
   * @param <T> what the task returns
   * @return the task's result
   * @throws IllegalStateException when interrupted while waiting (the caller's deadline passed)
   */
  public <T> T withModel(Function<TfModel, T> task) {
    TfModel model;
    try {
      model = free.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for a free model worker", e);
    }
    try {
      // Pools made of the same model (one per client) take turns on it too.
      synchronized (model) {
        return task.apply(model);
      }
    } finally {
      free.add(model);
    }
  }

  /**
   * Scores {@code weights} on {@code data}, split between all workers at once: the server's test
   * set in 1/K of the time.
   *
   * @param weights the weights to score
   * @param data the examples
   * @return the metrics over all of {@code data}
   */
  public Metrics evaluate(Weights weights, DataSource data) {
    int k = Math.min(size(), Math.max(1, data.size()));
    List<Future<Metrics>> parts = new ArrayList<>();
    ExecutorService threads = Executors.newFixedThreadPool(k);
    try {
      for (int i = 0; i < k; i++) {
        DataSource part =
            data.subset(
                IntStream.range(
                        (int) ((long) data.size() * i / k),
                        (int) ((long) data.size() * (i + 1) / k))
                    .toArray());
        parts.add(
            threads.submit(
                () ->
                    withModel(
                        model -> {
                          model.setWeights(weights);
                          return model.evaluate(part);
                        })));
      }
      ConfusionMatrix total = null;
      double lossSum = 0;
      for (Future<Metrics> f : parts) {
        Metrics m = f.get();
        total = total == null ? m.confusion() : total.plus(m.confusion());
        lossSum += m.loss() * m.confusion().total();
      }
      return Metrics.of(total, data.size() == 0 ? Double.NaN : lossSum / data.size());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while evaluating", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("evaluation failed: " + e.getCause(), e.getCause());
    } finally {
      threads.shutdownNow();
    }
  }

  /** Closes the models this pool created. */
  @Override
  public void close() {
    if (owned) {
      models.forEach(TfModel::close);
    }
  }
}
