package io.mnistfl.fl;

import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.Weights;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;

/**
 * The server's round loop: sample clients, send them the global weights through the {@link
 * Transport}, check and aggregate their updates, evaluate the new global weights, repeat until the
 * round limit or the target accuracy. It knows weights and bytes, never models: a client that
 * fails or sends a malformed or wrong-shaped update is left out of that round, and the round goes
 * on with the others. Clients are called {@link FederationSettings#parallelClients() several at a
 * time} if the settings say so, and a client still silent at the {@link
 * FederationSettings#roundTimeout() round timeout} counts as failed; updates are aggregated in the
 * order of the sampled ids either way, so the same seed gives the same history.
 */
public final class Federation {
  private final Transport transport;
  private final Aggregator aggregator;
  private final GlobalEvaluator evaluator;
  private final FederationSettings settings;
  private final FederationListener listener;

  public Federation(Transport transport, Aggregator aggregator, GlobalEvaluator evaluator,
      FederationSettings settings, FederationListener listener) {
    this.transport = transport;
    this.aggregator = aggregator;
    this.evaluator = evaluator;
    this.settings = settings;
    this.listener = listener;
  }

  /** Runs from {@code initial} global weights. */
  public FederationHistory run(Weights initial) {
    return resume(new FederationHistory(List.of(), OptionalInt.empty(), 0, initial));
  }

  /**
   * Goes on from a federation that stopped early, e.g. from the history a {@link
   * FederationListener#checkpoint checkpoint} saved: round n + 1 onwards from its final weights,
   * up to the settings' round limit or target. The aggregator takes up the history's {@link
   * FederationHistory#aggregatorState() state}, and clients are sampled and seeded by round, so
   * with the same settings the result equals an uninterrupted run ({@link DpFedAvg} included,
   * given a generator seeded as before). A history that already reached the target or the round
   * limit comes back unchanged.
   */
  public FederationHistory resume(FederationHistory previous) {
    try (ClientCalls calls = new ClientCalls(settings.parallelClients(), settings.roundTimeout())) {
      return run(previous, calls);
    }
  }

  private FederationHistory run(FederationHistory previous, ClientCalls calls) {
    Weights global = previous.finalWeights();
    aggregator.restore(previous.aggregatorState());
    List<RoundResult> results = new ArrayList<>(previous.rounds());
    for (int i = 0; i < results.size(); i++) {
      if (results.get(i).round() != i + 1) {
        throw new IllegalArgumentException("cannot resume: result " + (i + 1)
            + " of the history is round " + results.get(i).round());
      }
    }
    OptionalInt reached = OptionalInt.empty();
    for (RoundResult r : results) {
      if (reached.isEmpty() && reachesTarget(r)) {
        reached = OptionalInt.of(r.round());
      }
    }
    long start = System.nanoTime();
    for (int round = results.size() + 1; round <= settings.rounds() && reached.isEmpty();
        round++) {
      long roundStart = System.nanoTime();
      RoundConfig config = settings.roundConfig(round);
      List<String> sampled = sample(round);
      listener.roundStarted(round, sampled.size());
      List<String> failures = new ArrayList<>();
      List<ClientUpdate> updates = fit(calls, global, config, sampled, failures);
      double trainLoss = weightedTrainLoss(updates);
      global = updates.isEmpty() ? aggregator.withoutUpdates(global)
          : aggregator.aggregate(global, updates);
      Metrics test = evaluator.evaluate(global);
      Optional<Metrics> federated = settings.federatedEvaluation()
          ? federatedEvaluation(calls, global, config, sampled, failures) : Optional.empty();
      RoundResult result = new RoundResult(round, sampled.size(), updates.size(), failures,
          (System.nanoTime() - roundStart) / 1e9, trainLoss, test, federated);
      results.add(result);
      listener.roundFinished(result);
      if (reachesTarget(result)) {
        reached = OptionalInt.of(round);
      }
      listener.checkpoint(new FederationHistory(results, reached,
          previous.totalSeconds() + (System.nanoTime() - start) / 1e9, global,
          aggregator.state()));
    }
    return new FederationHistory(results, reached,
        previous.totalSeconds() + (System.nanoTime() - start) / 1e9, global,
        aggregator.state());
  }

  private boolean reachesTarget(RoundResult result) {
    return settings.targetAccuracy().isPresent()
        && result.test().accuracy() >= settings.targetAccuracy().getAsDouble();
  }

  /**
   * Max(minClients, round(C·N)) distinct clients, seeded by round, all when there are fewer; or,
   * with Poisson sampling, each client with probability C.
   */
  List<String> sample(int round) {
    List<String> ids = new ArrayList<>(transport.clientIds());
    Collections.sort(ids);
    Random random = new Random(settings.seed() * 31 + round);
    if (settings.poissonSampling()) {
      List<String> chosen = new ArrayList<>();
      for (String id : ids) {
        if (random.nextDouble() < settings.fraction()) {
          chosen.add(id);
        }
      }
      return chosen;
    }
    int k = Math.min(ids.size(),
        Math.max(settings.minClients(), (int) Math.round(settings.fraction() * ids.size())));
    Collections.shuffle(ids, random);
    List<String> chosen = new ArrayList<>(ids.subList(0, k));
    Collections.sort(chosen);
    return chosen;
  }

  private List<ClientUpdate> fit(ClientCalls calls, Weights global, RoundConfig config,
      List<String> sampled, List<String> failures) {
    byte[] request = Messages.encodeRequest(config, global);
    ClientCalls.Answers<ClientUpdate> answers = calls.send(sampled, "", id -> {
      ClientUpdate update = Messages.decodeUpdate(transport.fit(id, request), global);
      check(global, id, update);
      return update;
    }, done -> listener.clientFinished(config.round(), done, sampled.size()));
    failures.addAll(answers.failures());
    return answers.present();
  }

  private static void check(Weights global, String id, ClientUpdate update) {
    if (!update.clientId().equals(id)) {
      throw new IllegalArgumentException("answered as " + update.clientId() + ", not " + id);
    }
    if (update.numExamples() <= 0) {
      throw new IllegalArgumentException("reports " + update.numExamples() + " examples");
    }
    global.requireSameLayout(update.weights(), "update");
    for (Weights.NamedArray a : update.weights().arrays()) {
      for (float v : a.values()) {
        if (!Float.isFinite(v)) {
          throw new IllegalArgumentException("update array " + a.name() + " holds " + v);
        }
      }
    }
  }

  private static double weightedTrainLoss(List<ClientUpdate> updates) {
    double sum = 0;
    long n = 0;
    for (ClientUpdate u : updates) {
      sum += u.trainLoss() * u.numExamples();
      n += u.numExamples();
    }
    return n == 0 ? Double.NaN : sum / n;
  }

  private Optional<Metrics> federatedEvaluation(ClientCalls calls, Weights global,
      RoundConfig config, List<String> sampled, List<String> failures) {
    byte[] request = Messages.encodeRequest(config, global);
    ClientCalls.Answers<ClientEvaluation> answers = calls.send(sampled, " (evaluate)",
        id -> Messages.decodeEvaluation(transport.evaluate(id, request)), done -> {});
    failures.addAll(answers.failures());
    ConfusionMatrix total = null;
    double lossSum = 0;
    long n = 0;
    for (ClientEvaluation e : answers.present()) {
      total = total == null ? e.confusion() : total.plus(e.confusion());
      lossSum += e.loss() * e.numExamples();
      n += e.numExamples();
    }
    return total == null ? Optional.empty() : Optional.of(Metrics.of(total, lossSum / n));
  }
}
