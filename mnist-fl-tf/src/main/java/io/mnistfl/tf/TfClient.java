package io.mnistfl.tf;

import io.mnistfl.data.DataSource;
import io.mnistfl.fl.Client;
import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.Weights;
import io.mnistfl.train.EpochResult;
import io.mnistfl.train.TrainingListener;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A {@link Client} that trains a TensorFlow model on its local data. Simulated clients share the
 * models of a {@link TfWorkers} pool (or one model) and swap weights in and out, so they hold
 * nothing but index views and memory does not grow with their number. Clients borrow a free worker
 * for each fit or evaluation, so a federation may call as many at once as there are workers.
 */
public final class TfClient implements Client {
  private final String id;
  private final TfWorkers workers;
  private final DataSource train;
  private final DataSource heldOut;

  /**
   * A client with local training data and (possibly empty) held-out data for federated evaluation.
   *
   * @param id the site's id
   * @param model trains and evaluates; may be shared with other clients
   * @param train the local training data, not empty
   * @param heldOut the local data for federated evaluation
   * @throws IllegalArgumentException when {@code train} is empty
   */
  public TfClient(String id, TfModel model, DataSource train, DataSource heldOut) {
    this(id, TfWorkers.of(model), train, heldOut);
  }

  /**
   * A client whose fits and evaluations run on a free worker of {@code workers}.
   *
   * @param id the client's id
   * @param workers the models it borrows
   * @param train its local training data, not empty
   * @param heldOut its held-out data for federated evaluation, possibly empty
   */
  public TfClient(String id, TfWorkers workers, DataSource train, DataSource heldOut) {
    if (train.size() == 0) {
      throw new IllegalArgumentException("client " + id + " has no training data");
    }
    this.id = id;
    this.workers = workers;
    this.train = train;
    this.heldOut = heldOut;
  }

  /**
   * Simulated clients {@code client-000}, {@code client-001}, … over index partitions of {@code
   * data}, all sharing {@code model}; each holds out the last {@code heldOutFraction} of its
   * examples for federated evaluation.
   *
   * @param model shared by all the clients
   * @param data the data set the partitions index
   * @param partitions one index list per client
   * @param heldOutFraction the share each client holds out, in [0, 1)
   * @return one client per partition, in order
   */
  public static List<TfClient> simulate(
      TfModel model, DataSource data, List<int[]> partitions, double heldOutFraction) {
    return simulate(TfWorkers.of(model), data, partitions, heldOutFraction);
  }

  /**
   * Simulated clients {@code client-000}, {@code client-001}, … over index partitions of {@code
   * data}, on the workers of a pool; each holds out the last {@code heldOutFraction} of its
   * examples for federated evaluation.
   *
   * @param workers the models the clients borrow
   * @param data the data set the partitions index
   * @param partitions one index list per client
   * @param heldOutFraction the share of each part held out, in [0, 1)
   * @return the clients, in partition order
   */
  public static List<TfClient> simulate(
      TfWorkers workers, DataSource data, List<int[]> partitions, double heldOutFraction) {
    List<TfClient> clients = new ArrayList<>(partitions.size());
    int digits = Math.max(3, String.valueOf(partitions.size() - 1).length());
    for (int c = 0; c < partitions.size(); c++) {
      clients.add(
          ofPart(
              String.format("client-%0" + digits + "d", c),
              workers,
              data,
              partitions.get(c),
              heldOutFraction));
    }
    return clients;
  }

  /**
   * A client holding the examples {@code part} of {@code data}, the last {@code heldOutFraction} of
   * them held out for federated evaluation.
   *
   * @param id the site's id
   * @param model trains and evaluates; may be shared with other clients
   * @param data the data set {@code part} indexes
   * @param part the client's examples
   * @param heldOutFraction the share held out, in [0, 1)
   * @return the client
   * @throws IllegalArgumentException when {@code heldOutFraction} is out of range
   */
  public static TfClient ofPart(
      String id, TfModel model, DataSource data, int[] part, double heldOutFraction) {
    return ofPart(id, TfWorkers.of(model), data, part, heldOutFraction);
  }

  /**
   * A client holding the examples {@code part} of {@code data} on the workers of a pool, the last
   * {@code heldOutFraction} of them held out for federated evaluation.
   *
   * @param id the client's id
   * @param workers the models it borrows
   * @param data the data set {@code part} indexes
   * @param part the client's examples
   * @param heldOutFraction the share held out, in [0, 1)
   * @return the client
   */
  public static TfClient ofPart(
      String id, TfWorkers workers, DataSource data, int[] part, double heldOutFraction) {
    if (!(heldOutFraction >= 0 && heldOutFraction < 1)) {
      throw new IllegalArgumentException(
          "heldOutFraction must be in [0, 1), was " + heldOutFraction);
    }
    int held = (int) Math.floor(part.length * heldOutFraction);
    return new TfClient(
        id,
        workers,
        data.subset(Arrays.copyOfRange(part, 0, part.length - held)),
        data.subset(Arrays.copyOfRange(part, part.length - held, part.length)));
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public int numExamples() {
    return train.size();
  }

  @Override
  public ClientUpdate fit(Weights global, RoundConfig config) {
    return workers.withModel(
        model -> {
          model.setWeights(global);
          List<EpochResult> epochs =
              model.fit(
                  train, heldOut.subset(new int[0]), config.training(), TrainingListener.NONE);
          EpochResult last = epochs.get(epochs.size() - 1);
          return new ClientUpdate(id, model.weights(), train.size(), last.loss(), last.accuracy());
        });
  }

  @Override
  public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
    return workers.withModel(
        model -> {
          model.setWeights(weights);
          Metrics m = model.evaluate(heldOut);
          return new ClientEvaluation(id, heldOut.size(), m.loss(), m.confusion());
        });
  }
}
