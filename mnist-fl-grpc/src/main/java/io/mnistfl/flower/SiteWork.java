package io.mnistfl.flower;

import flwr.proto.Recorddict.ConfigRecordValue;
import io.mnistfl.fl.Client;
import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.fl.site.SiteLimits;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import io.mnistfl.train.LocalTraining;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A train or evaluate message turned into the site's {@link Client} call, and its result into the
 * reply's metrics, with the key names of {@link FlowerSuperNode}. Every config value is checked for
 * its type and range, and the request against the site's {@link SiteLimits}, before any training.
 */
final class SiteWork {
  /** The largest learning rate accepted. */
  static final double MAX_LEARNING_RATE = 100;

  /** The largest FedProx μ accepted. */
  static final double MAX_PROXIMAL_MU = 1e6;

  private final Client client;
  private final ModelSpec spec;
  private final SiteLimits limits;

  SiteWork(Client client, ModelSpec spec, SiteLimits limits) {
    this.client = client;
    this.spec = spec;
    this.limits = limits;
  }

  /**
   * What a reply carries.
   *
   * @param weights the arrays to send back, or null for none
   * @param metrics the MetricRecord's items, in order
   * @param summary one line for the site's operator
   */
  record Answer(Weights weights, LinkedHashMap<String, Number> metrics, String summary) {}

  /** Local training from the received weights as the config says. */
  Answer train(Inbound.Content content, String groupId) throws InvalidMessageException {
    Map<String, ConfigRecordValue> cfg = content.config();
    int round = round(cfg, groupId);
    int epochs = (int) integer(cfg, "local-epochs", 1, Integer.MAX_VALUE, 1);
    int batch = (int) integer(cfg, "batch-size", 1, Integer.MAX_VALUE, spec.batchSize());
    double lr =
        number(cfg, "lr", Double.MIN_VALUE, MAX_LEARNING_RATE, spec.optimizer().learningRate());
    double mu = number(cfg, "proximal-mu", 0, MAX_PROXIMAL_MU, 0);
    LocalTraining training = new LocalTraining(epochs, batch, lr, mu, seed(round));
    RoundConfig config = RoundConfig.of(round, training);
    String refusal = limits.violation(config, client.numExamples());
    if (!refusal.isEmpty()) {
      throw new InvalidMessageException("site " + client.id() + " refuses: " + refusal);
    }
    ClientUpdate update = client.fit(content.weights(), config);
    Weights w = update.weights();
    try {
      content.weights().requireSameLayout(w, "the site's trained weights");
    } catch (IllegalArgumentException e) {
      throw new InvalidMessageException(e.getMessage());
    }
    for (Weights.NamedArray a : w.arrays()) {
      for (float v : a.values()) {
        if (!Float.isFinite(v)) {
          throw new InvalidMessageException(
              "site "
                  + client.id()
                  + ": training diverged, "
                  + a.name()
                  + " holds "
                  + v
                  + " (lr "
                  + lr
                  + ")");
        }
      }
    }
    LinkedHashMap<String, Number> metrics = new LinkedHashMap<>();
    metrics.put(FlowerSuperNode.TRAIN_LOSS, update.trainLoss());
    metrics.put(FlowerSuperNode.TRAIN_ACCURACY, update.trainAccuracy());
    metrics.put(FlowerSuperNode.NUM_EXAMPLES, (long) update.numExamples());
    return new Answer(
        w,
        metrics,
        String.format(
            "train round %d: %d epoch%s of %,d examples, batch %d, lr %s: loss %.4f, accuracy %.4f",
            round,
            epochs,
            epochs == 1 ? "" : "s",
            update.numExamples(),
            batch,
            lr,
            update.trainLoss(),
            update.trainAccuracy()));
  }

  /** The received weights scored on the site's held-out data. */
  Answer evaluate(Inbound.Content content, String groupId) throws InvalidMessageException {
    int round = round(content.config(), groupId);
    ClientEvaluation e =
        client.evaluate(content.weights(), RoundConfig.of(round, LocalTraining.of(spec)));
    if (e.numExamples() == 0) {
      throw new InvalidMessageException(
          "site " + client.id() + " holds no data out for evaluation");
    }
    double accuracy = Metrics.of(e.confusion(), e.loss()).accuracy();
    LinkedHashMap<String, Number> metrics = new LinkedHashMap<>();
    metrics.put(FlowerSuperNode.LOSS, e.loss());
    metrics.put(FlowerSuperNode.ACCURACY, accuracy);
    metrics.put(FlowerSuperNode.NUM_EXAMPLES, (long) e.numExamples());
    return new Answer(
        null,
        metrics,
        String.format(
            "evaluate round %d: %,d examples: loss %.4f, accuracy %.4f",
            round, e.numExamples(), e.loss(), accuracy));
  }

  /** Seeds each site's shuffling per round, so that sites and rounds differ. */
  private long seed(int round) {
    return spec.seed() * 1_000_003L + round * 8191L + client.id().hashCode();
  }

  /** FedAvg's {@code server-round}; else a numeric group id (Flower's round); else 1. */
  private static int round(Map<String, ConfigRecordValue> cfg, String groupId)
      throws InvalidMessageException {
    if (cfg.containsKey("server-round")) {
      return (int) integer(cfg, "server-round", 1, Integer.MAX_VALUE, 1);
    }
    try {
      int g = Integer.parseInt(groupId);
      return g >= 1 ? g : 1;
    } catch (NumberFormatException e) {
      return 1;
    }
  }

  /** An integer config value in [min, max], or the default when absent. */
  static long integer(
      Map<String, ConfigRecordValue> cfg, String key, long min, long max, long absent)
      throws InvalidMessageException {
    ConfigRecordValue v = cfg.get(key);
    if (v == null) {
      return absent;
    }
    long value;
    switch (v.getValueCase()) {
      case SINT64 -> value = v.getSint64();
      case UINT64 -> {
        value = v.getUint64();
        if (value < 0) {
          throw new InvalidMessageException(
              "config '" + key + "' = " + Long.toUnsignedString(value) + " is above " + max);
        }
      }
      default ->
          throw new InvalidMessageException(
              "config '" + key + "' is " + kind(v) + ", expected an integer");
    }
    if (value < min || value > max) {
      throw new InvalidMessageException(
          "config '" + key + "' = " + value + " is outside [" + min + ", " + max + "]");
    }
    return value;
  }

  /** A finite number config value in [min, max], or the default when absent. */
  static double number(
      Map<String, ConfigRecordValue> cfg, String key, double min, double max, double absent)
      throws InvalidMessageException {
    ConfigRecordValue v = cfg.get(key);
    if (v == null) {
      return absent;
    }
    double value =
        switch (v.getValueCase()) {
          case DOUBLE -> v.getDouble();
          case SINT64 -> v.getSint64();
          case UINT64 -> unsigned(v.getUint64());
          default ->
              throw new InvalidMessageException(
                  "config '" + key + "' is " + kind(v) + ", expected a number");
        };
    if (!Double.isFinite(value) || value < min || value > max) {
      throw new InvalidMessageException(
          "config '"
              + key
              + "' = "
              + value
              + " is outside ["
              + (min == Double.MIN_VALUE ? "0 exclusive" : String.valueOf(min))
              + ", "
              + max
              + "]");
    }
    return value;
  }

  private static double unsigned(long v) {
    return v >= 0 ? v : (v >>> 1) * 2.0 + (v & 1);
  }

  /** A config value's kind, for errors. */
  private static String kind(ConfigRecordValue v) {
    return switch (v.getValueCase()) {
      case DOUBLE -> "a double";
      case SINT64, UINT64 -> "an integer";
      case BOOL -> "a bool";
      case STRING -> "a string";
      case BYTES -> "bytes";
      case DOUBLE_LIST, SINT_LIST, UINT_LIST, BOOL_LIST, STRING_LIST, BYTES_LIST -> "a list";
      case VALUE_NOT_SET -> "empty";
    };
  }
}
