package io.mnistfl.fl.server;

import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.fl.SiteFailure;
import io.mnistfl.fl.Transport;
import io.mnistfl.fl.checkpoint.Checkpoint;
import io.mnistfl.fl.checkpoint.CheckpointStore;
import io.mnistfl.fl.wire.Messages;
import io.mnistfl.internal.Require;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import io.mnistfl.train.Provenance;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;

/**
 * The server's round loop. Each round the {@link Strategy} picks the sites and their instructions,
 * the {@link FitProtocol} runs the training stages over the {@link Transport}, the strategy
 * aggregates what came back (seeing the round's failures), the new weights are evaluated on the
 * server's test set if it has one and, if the strategy asks, on the sites' own data. A site that
 * fails, times out, refuses or sends anything malformed or out of bounds is left out of that stage
 * with its reason, and the round goes on. It knows weights and bytes, never models. Build one with
 * {@link #builder(ModelSpec, Transport)}.
 */
public final class Federation {
  private static final System.Logger LOG = System.getLogger(Federation.class.getName());

  private final Settings b;
  private final Map<String, Integer> coolingUntil = new java.util.HashMap<>();
  private String runId = "";

  private Federation(Builder builder) {
    this.b = new Settings(builder);
  }

  /** The builder's values, copied: reusing a builder never changes a built federation. */
  private static final class Settings {
    final ModelSpec spec;
    final Transport transport;
    final Strategy strategy;
    final FitProtocol fitProtocol;
    final Optional<GlobalEvaluator> evaluator;
    final int rounds;
    final OptionalDouble target;
    final int parallelism;
    final StageDeadline deadline;
    final int coolingRounds;
    final int maxExamplesPerSite;
    final int minSites;
    final Duration siteWait;
    final FederationListener listener;
    final Optional<CheckpointStore> checkpoints;
    final String dataName;
    final long dataExamples;
    final String backend;
    final Map<String, String> settings;

    Settings(Builder b) {
      spec = b.spec;
      transport = b.transport;
      strategy = b.strategy;
      fitProtocol = b.fitProtocol;
      evaluator = b.evaluator;
      rounds = b.rounds;
      target = b.target;
      parallelism = b.parallelism;
      deadline = new StageDeadline(b.stageTimeout, b.stragglerFactor, b.stragglerFloor);
      coolingRounds = b.coolingRounds;
      maxExamplesPerSite = b.maxExamplesPerSite;
      minSites = b.minSites;
      siteWait = b.siteWait;
      listener = b.listener;
      checkpoints = b.checkpoints;
      dataName = b.dataName;
      dataExamples = b.dataExamples;
      backend = b.backend;
      settings = Map.copyOf(new LinkedHashMap<>(b.settings));
    }
  }

  /**
   * A builder for federating {@code spec} over {@code transport}: FedAvg over every site, plain
   * training, 20 rounds, one site called at a time, a 10-minute deadline per stage.
   *
   * @param spec the model being trained
   * @param transport how the server reaches the sites
   * @return the builder
   */
  public static Builder builder(ModelSpec spec, Transport transport) {
    return new Builder(spec, transport);
  }

  /**
   * The provenance of this run as configured now, with the sites that can be reached.
   *
   * @return the provenance
   */
  public Provenance provenance() {
    Provenance.Builder p =
        Provenance.builder(b.spec)
            .kind("federated")
            .settings("strategy", b.strategy.parameters())
            .sites(b.transport.siteIds())
            .data(b.dataName, b.dataExamples)
            .backend(b.backend);
    b.fitProtocol.parameters().forEach((k, v) -> p.setting("protocol." + k, v));
    b.settings.forEach(p::setting);
    return p.build();
  }

  /**
   * Runs from the spec's initial weights.
   *
   * @return the record of every round
   */
  public FederationHistory run() {
    return run(b.spec.initialWeights());
  }

  /**
   * Runs from {@code initial} weights, e.g. pretrained ones, which must have the spec's layout.
   *
   * @param initial the weights of round 0
   * @return the record of every round
   */
  public FederationHistory run(Weights initial) {
    runId = Checkpoint.newRunId();
    return run(FederationHistory.start(initial));
  }

  /**
   * Goes on from a checkpoint, round n + 1 onwards, as if never stopped: the strategy takes up the
   * saved state, and sites are sampled and seeded by round. Refused, naming each, when a setting
   * that determines the result differs from the saved run's, or when a stateful strategy's state is
   * missing; a different library or backend version only warns, and the set of reachable sites may
   * change.
   *
   * @param checkpoint a checkpoint of an earlier run of this federation
   * @return the record of every round, the saved ones included
   * @throws IllegalArgumentException naming the settings that differ, or the missing state
   */
  public FederationHistory resume(Checkpoint checkpoint) {
    List<String> conflicts = provenance().conflictsWith(checkpoint.provenance());
    if (!conflicts.isEmpty()) {
      throw new IllegalArgumentException(
          "cannot resume " + checkpoint.name() + ": " + String.join("; ", conflicts));
    }
    provenance().versionWarnings(checkpoint.provenance()).forEach(this::warn);
    FederationHistory saved = checkpoint.history();
    // A format-1 checkpoint recorded no run: its continuation is a run of its own.
    runId = checkpoint.runId().isEmpty() ? Checkpoint.newRunId() : checkpoint.runId();
    if (!saved.rounds().isEmpty() && b.strategy.keepsState() && saved.strategyState().isEmpty()) {
      throw new IllegalArgumentException(
          "cannot resume "
              + checkpoint.name()
              + ": it lacks the"
              + " state of "
              + b.strategy.parameters().getOrDefault("aggregator", "the strategy")
              + " (its moments), which the next round needs");
    }
    return run(saved);
  }

  private FederationHistory run(FederationHistory previous) {
    b.spec.initialWeights().requireSameLayout(previous.finalWeights(), "the starting weights");
    for (int i = 0; i < previous.rounds().size(); i++) {
      if (previous.rounds().get(i).round() != i + 1) {
        throw new IllegalArgumentException(
            "cannot resume: result "
                + (i + 1)
                + " of the history is round "
                + previous.rounds().get(i).round());
      }
    }
    b.strategy.restore(previous.strategyState());
    List<RoundResult> results = new ArrayList<>(previous.rounds());
    OptionalInt reached = OptionalInt.empty();
    for (RoundResult r : results) {
      if (reached.isEmpty() && reachesTarget(r)) {
        reached = OptionalInt.of(r.round());
      }
    }
    Weights global = previous.finalWeights();
    long start = System.nanoTime();
    int[] round = {0};
    try (Exchanges exchange =
        new Exchanges(
            b.transport,
            b.parallelism,
            b.deadline,
            (stage, done, total) -> b.listener.siteAnswered(round[0], stage, done, total))) {
      for (round[0] = results.size() + 1; round[0] <= b.rounds && reached.isEmpty(); round[0]++) {
        RoundOutcome outcome = round(round[0], global, exchange);
        global = outcome.global;
        results.add(outcome.result);
        RoundResult finished = outcome.result;
        LOG.log(System.Logger.Level.INFO, finished::format);
        b.listener.roundFinished(finished);
        if (reachesTarget(outcome.result)) {
          reached = OptionalInt.of(round[0]);
        }
        FederationHistory soFar =
            new FederationHistory(
                results,
                reached,
                previous.totalSeconds() + (System.nanoTime() - start) / 1e9,
                global,
                b.strategy.state());
        if (b.checkpoints.isPresent()) {
          try {
            b.checkpoints.get().save(new Checkpoint(provenance(), soFar, runId));
          } catch (IOException e) {
            throw new UncheckedIOException(
                "cannot save the checkpoint of round " + round[0] + ": " + e.getMessage(), e);
          }
        }
        b.listener.checkpoint(soFar);
      }
    }
    return new FederationHistory(
        results,
        reached,
        previous.totalSeconds() + (System.nanoTime() - start) / 1e9,
        global,
        b.strategy.state());
  }

  private record RoundOutcome(Weights global, RoundResult result) {}

  private RoundOutcome round(int round, Weights global, Exchanges exchange) {
    long start = System.nanoTime();
    List<String> available = sitesFor(round);
    List<SiteInstruction> instructions = b.strategy.configureFit(round, global, available);
    b.listener.roundStarted(round, instructions.size());
    RoundContext context = new RoundContext(round, global, b.maxExamplesPerSite);
    List<SiteFailure> failures = new ArrayList<>();
    Optional<String> abandoned = Optional.empty();
    int succeeded = 0;
    double trainLoss = Double.NaN;
    Weights next = global;
    try {
      FitResults fit = b.fitProtocol.run(context, instructions, exchange);
      failures.addAll(fit.failures());
      if (fit instanceof FitResults.Updates u) {
        succeeded = u.updates().size();
        trainLoss = weightedTrainLoss(u.updates());
      } else {
        succeeded = ((FitResults.Sum) fit).contributors();
      }
      next = b.strategy.aggregateFit(round, global, fit);
      global.requireSameLayout(next, "the strategy's new global weights");
    } catch (RoundAbandonedException e) {
      failures.addAll(e.failures());
      abandoned = Optional.of(e.getMessage());
    }
    Weights evaluated = next;
    long testStart = System.nanoTime();
    Optional<Metrics> test = b.evaluator.map(e -> e.evaluate(evaluated));
    double testSeconds = (System.nanoTime() - testStart) / 1e9;
    Optional<Metrics> federated = evaluate(round, next, available, exchange, failures);
    for (String late : exchange.drainTimedOut()) {
      coolingUntil.put(late, round + b.coolingRounds);
    }
    RoundResult result =
        new RoundResult(
            round,
            instructions.size(),
            succeeded,
            failures,
            (System.nanoTime() - start) / 1e9,
            testSeconds,
            trainLoss,
            test,
            federated,
            abandoned);
    return new RoundOutcome(next, result);
  }

  /**
   * The sites a round may sample: the reachable ones, once there are at least the minimum or the
   * wait for them is over, less those cooling off after a timeout (unless no other is left).
   *
   * @throws IllegalStateException when no site is reachable, or the transport lists one twice
   */
  private List<String> sitesFor(int round) {
    List<String> reachable = awaitSites();
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (String id : reachable) {
      if (id == null || !seen.add(id)) {
        throw new IllegalStateException(
            "the transport "
                + b.transport.getClass().getName()
                + " lists site "
                + id
                + (id == null ? "" : " twice")
                + " in siteIds(); each site must be listed once");
      }
    }
    if (reachable.isEmpty()) {
      throw new IllegalStateException(
          "round "
              + round
              + ": no site can be reached through the transport "
              + b.transport.getClass().getName()
              + (b.siteWait.isZero() ? "" : " after waiting " + b.siteWait.toSeconds() + " s")
              + "; a federation needs at least one site");
    }
    coolingUntil.values().removeIf(until -> until < round);
    List<String> rested =
        reachable.stream().filter(id -> !coolingUntil.containsKey(id)).sorted().toList();
    if (rested.size() < reachable.size()) {
      List<String> cooling = reachable.stream().filter(coolingUntil::containsKey).sorted().toList();
      if (rested.isEmpty()) {
        warn("round " + round + ": every reachable site timed out lately; sampling them anyway");
        return reachable.stream().sorted().toList();
      }
      warn(
          "round "
              + round
              + ": not sampling "
              + cooling
              + ", which timed out in the last "
              + b.coolingRounds
              + " round"
              + (b.coolingRounds == 1 ? "" : "s"));
    }
    return rested;
  }

  /** Tells the operator, through the listener and the log. */
  private void warn(String message) {
    LOG.log(System.Logger.Level.WARNING, message);
    b.listener.warning(message);
  }

  /** The reachable sites, once there are at least the minimum or the wait for them is over. */
  private List<String> awaitSites() {
    long end = System.nanoTime() + b.siteWait.toNanos();
    List<String> ids = b.transport.siteIds();
    while (ids.size() < b.minSites && System.nanoTime() < end) {
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      ids = b.transport.siteIds();
    }
    return ids;
  }

  private Optional<Metrics> evaluate(
      int round,
      Weights weights,
      List<String> available,
      Exchanges exchange,
      List<SiteFailure> failures) {
    List<SiteInstruction> instructions = b.strategy.configureEvaluate(round, weights, available);
    if (instructions.isEmpty()) {
      return Optional.empty();
    }
    Map<String, byte[]> requests =
        SiteInstruction.encodeEach(instructions, c -> Messages.encodeEvaluate(c, weights));
    SiteExchange.Replies replies = exchange.send("evaluate", requests);
    List<SiteFailure> evaluationFailures = new ArrayList<>(replies.failures());
    List<ClientEvaluation> evaluations = new ArrayList<>();
    for (Map.Entry<String, byte[]> answer : replies.answers().entrySet()) {
      try {
        ClientEvaluation e = Messages.decodeEvaluation(answer.getValue());
        Checks.evaluation(answer.getKey(), e, b.spec.numClasses(), b.maxExamplesPerSite);
        if (e.numExamples() == 0) {
          evaluationFailures.add(
              new SiteFailure(answer.getKey(), "evaluate: skipped, it holds no held-out data"));
          continue;
        }
        evaluations.add(e);
      } catch (Exception e) {
        evaluationFailures.add(new SiteFailure(answer.getKey(), "evaluate: " + Checks.describe(e)));
      }
    }
    failures.addAll(evaluationFailures);
    return b.strategy.aggregateEvaluate(round, evaluations, evaluationFailures);
  }

  private boolean reachesTarget(RoundResult result) {
    return b.target.isPresent()
        && result.accuracy().isPresent()
        && result.accuracy().get() >= b.target.getAsDouble();
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

  /** Builds a {@link Federation}; {@link #build()} checks that the parts fit together. */
  public static final class Builder {
    private final ModelSpec spec;
    private final Transport transport;
    private Strategy strategy = StandardStrategy.builder().build();
    private FitProtocol fitProtocol = FitProtocol.plain();
    private Optional<GlobalEvaluator> evaluator = Optional.empty();
    private int rounds = 20;
    private OptionalDouble target = OptionalDouble.empty();
    private int parallelism = 1;
    private Duration stageTimeout = Duration.ofMinutes(10);
    private double stragglerFactor = 4;
    private Duration stragglerFloor = Duration.ofSeconds(30);
    private int coolingRounds = 2;
    private int maxExamplesPerSite = 10_000_000;
    private int minSites = 0;
    private Duration siteWait = Duration.ZERO;
    private FederationListener listener = FederationListener.NONE;
    private Optional<CheckpointStore> checkpoints = Optional.empty();
    private String dataName = "";
    private long dataExamples;
    private String backend = "";
    private final Map<String, String> settings = new LinkedHashMap<>();

    private Builder(ModelSpec spec, Transport transport) {
      this.spec = Objects.requireNonNull(spec, "spec");
      this.transport = Objects.requireNonNull(transport, "transport");
    }

    /**
     * The server's decisions (default FedAvg over every site).
     *
     * @param value the strategy
     * @return this builder
     */
    public Builder strategy(Strategy value) {
      this.strategy = Objects.requireNonNull(value, "strategy");
      return this;
    }

    /**
     * How training travels (default {@link FitProtocol#plain()}).
     *
     * @param value the protocol
     * @return this builder
     */
    public Builder fitProtocol(FitProtocol value) {
      this.fitProtocol = Objects.requireNonNull(value, "fitProtocol");
      return this;
    }

    /**
     * Scores each round's weights on the server's own test set (default: none).
     *
     * @param value the evaluator
     * @return this builder
     */
    public Builder evaluator(GlobalEvaluator value) {
      this.evaluator = Optional.of(value);
      return this;
    }

    /**
     * Stop after at most {@code count} rounds (default 20).
     *
     * @param count the most rounds, at least 1
     * @return this builder
     */
    public Builder rounds(int count) {
      this.rounds = count;
      return this;
    }

    /**
     * Stop after the first round whose accuracy reaches {@code accuracy}.
     *
     * @param accuracy the target accuracy, in (0, 1]
     * @return this builder
     */
    public Builder target(double accuracy) {
      this.target = OptionalDouble.of(accuracy);
      return this;
    }

    /**
     * Call up to {@code count} sites at once (default 1).
     *
     * @param count the most sites called at once, at least 1
     * @return this builder
     */
    public Builder parallelism(int count) {
      this.parallelism = count;
      return this;
    }

    /**
     * Wait at most {@code timeout} for the sites' answers in each stage of a round; a site still
     * silent then is left out and its call interrupted (default 10 minutes).
     *
     * @param timeout the deadline of each stage
     * @return this builder
     */
    public Builder stageTimeout(Duration timeout) {
      this.stageTimeout = Objects.requireNonNull(timeout, "stageTimeout");
      return this;
    }

    /**
     * Once half of a stage's calls have ended, wait for the rest at most {@code factor} times as
     * long as that half took, but at least {@code floor} (default 4 times, at least 30 s; always
     * within the {@link #stageTimeout}). A site cut off this way, or by the stage timeout, is not
     * sampled for the next {@link #timeoutCooling} rounds.
     *
     * @param factor the multiple of the first half's time, {@code >= 1}; 0 turns the rule off
     * @param floor the shortest wait the rule allows
     * @return this builder
     */
    public Builder stragglerWait(double factor, Duration floor) {
      this.stragglerFactor = factor;
      this.stragglerFloor = Objects.requireNonNull(floor, "floor");
      return this;
    }

    /**
     * How many rounds a site that timed out sits out (default 2; 0: sampled again at once). When no
     * other site is reachable, sites cooling off are sampled anyway.
     *
     * @param rounds the rounds it is left out of sampling
     * @return this builder
     */
    public Builder timeoutCooling(int rounds) {
      this.coolingRounds = rounds;
      return this;
    }

    /**
     * Before each round, wait up to {@code wait} for at least {@code count} reachable sites
     * (default: start each round with whoever is there): sites that dial in, or come back after a
     * restart, take part as soon as they are connected.
     *
     * @param count the sites to wait for
     * @param wait the longest wait before a round starts with fewer
     * @return this builder
     */
    public Builder minSites(int count, Duration wait) {
      this.minSites = count;
      this.siteWait = Objects.requireNonNull(wait, "wait");
      return this;
    }

    /**
     * The largest example count a site may report (default 10 million).
     *
     * @param value the largest example count, at least 1
     * @return this builder
     */
    public Builder maxExamplesPerSite(int value) {
      this.maxExamplesPerSite = value;
      return this;
    }

    /**
     * Progress callbacks.
     *
     * @param value receives progress and warnings
     * @return this builder
     */
    public Builder listener(FederationListener value) {
      this.listener = Objects.requireNonNull(value, "listener");
      return this;
    }

    /**
     * Save a checkpoint after every round, and let {@link #resume} take it up.
     *
     * @param store where checkpoints are saved
     * @return this builder
     */
    public Builder checkpoints(CheckpointStore store) {
      this.checkpoints = Optional.of(store);
      return this;
    }

    /**
     * The training data's name and the examples the server knows of, for provenance.
     *
     * @param name the data set's name
     * @param examples the number of examples
     * @return this builder
     */
    public Builder data(String name, long examples) {
      this.dataName = Objects.requireNonNull(name, "name");
      this.dataExamples = examples;
      return this;
    }

    /**
     * The backend and its version, for provenance.
     *
     * @param value the backend's name and version
     * @return this builder
     */
    public Builder backend(String value) {
      this.backend = Objects.requireNonNull(value, "backend");
      return this;
    }

    /**
     * A further setting that determines the result (e.g. {@code data.partition}), recorded in the
     * provenance and compared on resume.
     *
     * @param name the setting's name
     * @param value its value, recorded as a string
     * @return this builder
     */
    public Builder setting(String name, Object value) {
      settings.put(name, String.valueOf(value));
      return this;
    }

    /**
     * The federation; fails naming the first setting out of range or parts that do not fit.
     *
     * @return the federation
     * @throws IllegalArgumentException naming the first setting out of range, or the strategy and
     *     protocol that do not fit
     */
    public Federation build() {
      Require.atLeastOne("rounds", rounds);
      Require.atLeastOne("parallelism", parallelism);
      Require.positive("stageTimeout", stageTimeout);
      if (!(stragglerFactor == 0 || stragglerFactor >= 1) || stragglerFloor.isNegative()) {
        throw new IllegalArgumentException(
            "stragglerWait needs a factor of 0 or >= 1 and a floor >= 0, was "
                + stragglerFactor
                + " and "
                + stragglerFloor);
      }
      if (coolingRounds < 0) {
        throw new IllegalArgumentException("timeoutCooling must be >= 0, was " + coolingRounds);
      }
      Require.atLeastOne("maxExamplesPerSite", maxExamplesPerSite);
      target.ifPresent(t -> Require.inUnitInterval("target", t));
      if (fitProtocol.yieldsSums() && !strategy.aggregatesSums()) {
        throw new IllegalArgumentException(
            fitProtocol
                + " gives the server only the sum of the"
                + " updates, but "
                + strategy.parameters().getOrDefault("aggregator", strategy.toString())
                + " needs each site's update");
      }
      return new Federation(this);
    }
  }
}
