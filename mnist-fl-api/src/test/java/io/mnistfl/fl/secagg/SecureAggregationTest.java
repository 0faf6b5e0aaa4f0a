package io.mnistfl.fl.secagg;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.fl.Client;
import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.fl.SiteFailure;
import io.mnistfl.fl.Transport;
import io.mnistfl.fl.aggregate.FedMedian;
import io.mnistfl.fl.aggregate.WeightMath;
import io.mnistfl.fl.privacy.DpFedAvg;
import io.mnistfl.fl.server.Federation;
import io.mnistfl.fl.server.FitResults;
import io.mnistfl.fl.server.RoundAbandonedException;
import io.mnistfl.fl.server.RoundContext;
import io.mnistfl.fl.server.Sampling;
import io.mnistfl.fl.server.SiteExchange;
import io.mnistfl.fl.server.SiteInstruction;
import io.mnistfl.fl.server.StandardStrategy;
import io.mnistfl.fl.sim.InProcessTransport;
import io.mnistfl.fl.site.ClientRuntime;
import io.mnistfl.fl.site.SiteLimits;
import io.mnistfl.fl.wire.Frame;
import io.mnistfl.fl.wire.MessageFormatException;
import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.model.Initializer;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import io.mnistfl.train.LocalTraining;
import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.BiFunction;
import org.assertj.core.api.AbstractListAssert;
import org.assertj.core.api.ObjectAssert;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;

/**
 * SecAgg+ end to end over an in-process wire: the unmasked sum is exactly the plain quantized sum,
 * what reaches the server looks uniform, dropouts before and after the masked input, too few
 * survivors, bad shares, a site told another survivor set than its neighbours, DP and robust
 * aggregators. Attacks by a malicious server or site are in {@link SecAggAttackTest}.
 */
class SecureAggregationTest {
  /** 16 × 16 pixels to 10 logits: 2,570 values, enough for a uniformity test. */
  static final ModelSpec SPEC =
      ModelSpec.builder()
          .name("wide")
          .input(16, 16)
          .numClasses(10)
          .flatten()
          .logits(Initializer.GLOROT_UNIFORM)
          .build();

  static final LocalTraining TRAINING = LocalTraining.of(SPEC).withSeed(7);

  /** Moves every weight by its own seeded amount in [−0.05, 0.05]; sites differ in size. */
  record Drift(String id, int numExamples) implements Client {
    @Override
    public ClientUpdate fit(Weights global, RoundConfig config) {
      Random r = new Random(id.hashCode() * 31L + config.round());
      double[][] v = WeightMath.toDouble(global);
      for (double[] row : v) {
        for (int i = 0; i < row.length; i++) {
          row[i] += (r.nextDouble() - 0.5) * 0.1;
        }
      }
      return new ClientUpdate(id, WeightMath.withValues(global, v), numExamples, 0.5, 0);
    }

    @Override
    public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
      return new ClientEvaluation(
          id, 2, 0.5, ConfusionMatrix.of(10, new int[] {0, 1}, new int[] {0, 0}));
    }
  }

  static SecureRandom seeded(long seed) {
    try {
      SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
      r.setSeed(seed);
      return r;
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  static List<String> idsOf(List<Client> clients) {
    return clients.stream().map(Client::id).toList();
  }

  static List<Client> clients(int n) {
    List<Client> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new Drift("s" + i, 1000 + 500 * i));
    }
    return out;
  }

  /** The site {@code id} dealing its shares through {@code tamper}, with seeded randomness. */
  static SecAggSite site(SimulatedIdentities ids, String id, SecAggSite.Tamper tamper) {
    return new SecAggSite(ids.of(id), ids.verifier(), tamper, seeded(id.hashCode()));
  }

  /** The site {@code id}, honest, with seeded randomness. */
  static SecAggSite site(SimulatedIdentities ids, String id) {
    return site(ids, id, (share, holder, kind) -> share);
  }

  /** Each client behind a runtime answering secure aggregation, with seeded randomness. */
  static Transport sites(
      List<Client> clients, SimulatedIdentities ids, Map<String, SecAggSite.Tamper> tampers) {
    return sites(clients, ids, tampers, new TreeMap<>());
  }

  /** As {@link #sites(List, SimulatedIdentities, Map)}, the handlers kept in {@code out}. */
  static Transport sites(
      List<Client> clients,
      SimulatedIdentities ids,
      Map<String, SecAggSite.Tamper> tampers,
      Map<String, SecAggSite> out) {
    List<ClientRuntime> runtimes = new ArrayList<>();
    for (Client c : clients) {
      SecAggSite site = site(ids, c.id(), tampers.getOrDefault(c.id(), (share, h, k) -> share));
      out.put(c.id(), site);
      runtimes.add(ClientRuntime.of(c).withStages(site));
    }
    return InProcessTransport.ofRuntimes(runtimes);
  }

  /**
   * A tamper that deals each holder named in {@code xs} its shares numbered at the x given there,
   * committed as dealt; the others at their own x.
   */
  static SecAggSite.Tamper numbering(Map<String, Integer> xs) {
    return new SecAggSite.Tamper() {
      @Override
      public byte[] share(byte[] share, String holder, Secret kind) {
        return share;
      }

      @Override
      public int x(int x, String holder) {
        return xs.getOrDefault(holder, x);
      }
    };
  }

  /** {@code site}'s answer to {@code request}, with s0's client behind it. */
  static byte[] handle(SecAggSite site, byte[] request) throws IOException {
    return site.handle(request, clients(1).get(0), SiteLimits.defaults());
  }

  /**
   * The wire between server and sites, one request after another: it records every answer that
   * reaches the server, can make sites vanish from a stage on, and lets a test rewrite requests or
   * answers.
   */
  static final class Wire implements SiteExchange {
    final Transport transport;
    final Map<String, Set<String>> vanishAt = new TreeMap<>();
    final Set<String> gone = new HashSet<>();
    final Map<String, byte[]> masked = new TreeMap<>();
    final List<byte[]> seen = new ArrayList<>();
    final List<String> stages = new ArrayList<>();
    java.util.function.Consumer<Map<String, byte[]>> beforeStage = out -> {};
    BiFunction<String, byte[], byte[]> requests = (site, bytes) -> bytes;
    BiFunction<String, byte[], byte[]> answers = (site, bytes) -> bytes;

    /** The session of the server's last request. */
    byte[] session;

    Wire(Transport transport) {
      this.transport = transport;
    }

    /** Rewrites the requests with {@code rewrite} after the rewriting there is already. */
    void rewriteRequests(BiFunction<String, byte[], byte[]> rewrite) {
      requests = andThen(requests, rewrite);
    }

    /** Rewrites the answers with {@code rewrite} after the rewriting there is already. */
    void rewriteAnswers(BiFunction<String, byte[], byte[]> rewrite) {
      answers = andThen(answers, rewrite);
    }

    private static BiFunction<String, byte[], byte[]> andThen(
        BiFunction<String, byte[], byte[]> first, BiFunction<String, byte[], byte[]> then) {
      return (site, bytes) -> then.apply(site, first.apply(site, bytes));
    }

    Wire vanish(String kind, String... ids) {
      vanishAt.put(kind, Set.of(ids));
      return this;
    }

    @Override
    public Replies send(String stage, Map<String, byte[]> out) {
      beforeStage.accept(out);
      out.values().stream().findFirst().flatMap(Frame::kind).ifPresent(stages::add);
      Map<String, byte[]> in = new LinkedHashMap<>();
      List<SiteFailure> failures = new ArrayList<>();
      for (Map.Entry<String, byte[]> e : out.entrySet()) {
        String kind = Frame.kind(e.getValue()).orElseThrow();
        String site = e.getKey();
        try {
          // Every request of the stages starts with the session.
          session = new Body.Reader(e.getValue(), kind, "test").fixed(16);
        } catch (MessageFormatException x) {
          throw new AssertionError(x);
        }
        if (vanishAt.getOrDefault(kind, Set.of()).contains(site)) {
          gone.add(site);
        }
        if (gone.contains(site)) {
          failures.add(new SiteFailure(site, stage + ": connection lost"));
          continue;
        }
        try {
          byte[] answer =
              answers.apply(site, transport.exchange(site, requests.apply(site, e.getValue())));
          seen.add(answer);
          if (kind.equals(SecureAggregation.MASK)) {
            masked.put(site, answer);
          }
          in.put(site, answer);
        } catch (IOException x) {
          failures.add(new SiteFailure(site, stage + ": " + x.getMessage()));
        } catch (InterruptedException x) {
          throw new AssertionError(x);
        }
      }
      return new Replies(in, failures);
    }
  }

  static final Weights GLOBAL = SPEC.initialWeights();

  static List<SiteInstruction> instructions(List<Client> clients, RoundConfig config) {
    return clients.stream().map(c -> new SiteInstruction(c.id(), config)).toList();
  }

  static RoundContext round() {
    return new RoundContext(1, GLOBAL, 1_000_000);
  }

  static SecureAggregation protocol(SecAggConfig config, SimulatedIdentities ids) {
    return SecureAggregation.of(config, ids.verifier()).withRandom(seeded(99));
  }

  /** The real server under the defaults unmasking round 1 of {@code clients} over {@code wire}. */
  static SecureAggregation.Unmasked unmaskUnderDefaults(
      SimulatedIdentities ids, List<Client> clients, SiteExchange wire) {
    return protocol(SecAggConfig.defaults(), ids)
        .unmask(round(), instructions(clients, RoundConfig.of(1, TRAINING)), wire);
  }

  /** The site's plain quantized values, as it computes them before masking. */
  static int[] plain(Client c, RoundConfig config, Quantizer q) {
    ClientUpdate update = c.fit(GLOBAL, config);
    return q.quantize(
        GLOBAL,
        update,
        new SplittableRandom(SecAggSite.roundingSeed(config.training().seed(), c.id())));
  }

  static int[] plainSum(List<Client> clients, RoundConfig config, Quantizer q) {
    int[] sum = new int[(int) GLOBAL.scalarCount()];
    for (Client c : clients) {
      int[] v = plain(c, config, q);
      for (int i = 0; i < v.length; i++) {
        sum[i] += v[i];
      }
    }
    return sum;
  }

  static Quantizer quantizer(SecAggConfig c) {
    return Quantizer.of(c.bits(), c.clipRange(), c.exampleCap(), Double.NaN);
  }

  static int[] maskedValues(byte[] answer) throws MessageFormatException {
    Body.Reader r = new Body.Reader(answer, SecureAggregation.MASKED, "masked input");
    r.string();
    if (r.u16() != 0 || r.u16() != 1) {
      throw new MessageFormatException("an input with complaints, or none");
    }
    int[] values = r.ints((int) GLOBAL.scalarCount());
    r.i32();
    r.bytes(512);
    r.end();
    return values;
  }

  /** A share in a revealed answer: whose, of which secret (by ordinal), at which x. */
  record RevealedShare(String owner, int kind, int x, BigInteger share) {}

  /** The shares in the revealed {@code answers}, in order. */
  static List<RevealedShare> revealedShares(Iterable<byte[]> answers)
      throws MessageFormatException {
    List<RevealedShare> out = new ArrayList<>();
    for (byte[] answer : answers) {
      Body.Reader r = new Body.Reader(answer, SecureAggregation.REVEALED, "revealed");
      r.string();
      int count = r.u16();
      for (int i = 0; i < count; i++) {
        String of = r.string();
        int kind = r.u16();
        int x = r.u16();
        BigInteger share = Shamir.value(r.fixed(Shamir.SHARE_BYTES));
        r.fixed(SecAggSite.SALT_BYTES);
        out.add(new RevealedShare(of, kind, x, share));
      }
    }
    return out;
  }

  /** The revealed shares of {@code owner}'s {@code kind} in {@code answers}, by x. */
  static Map<Integer, BigInteger> sharesOf(Iterable<byte[]> answers, String owner, Secret kind)
      throws MessageFormatException {
    Map<Integer, BigInteger> out = new TreeMap<>();
    for (RevealedShare s : revealedShares(answers)) {
      if (s.owner().equals(owner) && s.kind() == kind.ordinal()) {
        out.put(s.x(), s.share());
      }
    }
    return out;
  }

  /** The sealed shares in a dealer's shares answer, by holder, in order. */
  static Map<String, byte[]> sealedShares(byte[] answer) throws MessageFormatException {
    Body.Reader r = new Body.Reader(answer, SecureAggregation.SHARES, "shares");
    r.string();
    Map<String, byte[]> out = sealedShares(r);
    r.end();
    return out;
  }

  private static Map<String, byte[]> sealedShares(Body.Reader r) throws MessageFormatException {
    Map<String, byte[]> out = new LinkedHashMap<>();
    int count = r.u16();
    for (int i = 0; i < count; i++) {
      String holder = r.string();
      out.put(holder, r.bytes(1024));
    }
    return out;
  }

  /** Rewrites {@code dealer}'s shares answers: {@code edit} changes its sealed shares by holder. */
  static BiFunction<String, byte[], byte[]> rewritingShares(
      String dealer, java.util.function.Consumer<Map<String, byte[]>> edit) {
    return rewriting(
        dealer,
        SecureAggregation.SHARES,
        r -> {
          Body.Writer w = new Body.Writer().string(r.string());
          Map<String, byte[]> byHolder = sealedShares(r);
          edit.accept(byHolder);
          w.u16(byHolder.size());
          byHolder.forEach((holder, ct) -> w.string(holder).bytes(ct));
          return w.frame(SecureAggregation.SHARES);
        });
  }

  /** Pearson's statistic of the top 4 bits of each value against 16 equal bins. */
  static double chiSquare(int[] values) {
    int[] bins = new int[16];
    for (int v : values) {
      bins[v >>> 28]++;
    }
    double expected = values.length / 16.0;
    double x2 = 0;
    for (int b : bins) {
      x2 += (b - expected) * (b - expected) / expected;
    }
    return x2;
  }

  /** χ² with 15 degrees of freedom exceeds this with probability 0.001. */
  static final double CHI2_15_AT_0_001 = 37.70;

  @Test
  void theUnmaskedSumIsThePlainQuantizedSumExactly() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(10);
    RoundConfig config = RoundConfig.of(1, TRAINING);
    SecAggConfig settings = SecAggConfig.defaults();
    Wire wire = new Wire(sites(clients, ids, Map.of()));

    SecureAggregation.Unmasked u =
        protocol(settings, ids).unmask(round(), instructions(clients, config), wire);

    assertThat(u.failures()).isEmpty();
    assertThat(u.contributors()).hasSize(10);
    assertThat(u.sum()).containsExactly(plainSum(clients, config, quantizer(settings)));
  }

  @Test
  void theMeanOfTheSumIsFedAvgsExampleWeightedMean() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(6);
    RoundConfig config = RoundConfig.of(1, TRAINING);
    FitResults.Sum sum =
        (FitResults.Sum)
            protocol(SecAggConfig.defaults(), ids)
                .run(
                    round(),
                    instructions(clients, config),
                    new Wire(sites(clients, ids, Map.of())));

    double[][] weighted = WeightMath.zerosLike(GLOBAL);
    double examples = 0;
    for (Client c : clients) {
      double[][] delta = WeightMath.toDouble(c.fit(GLOBAL, config).weights());
      double[][] g = WeightMath.toDouble(GLOBAL);
      for (int a = 0; a < weighted.length; a++) {
        for (int i = 0; i < weighted[a].length; i++) {
          weighted[a][i] += c.numExamples() * (delta[a][i] - g[a][i]);
        }
      }
      examples += c.numExamples();
    }
    double[][] mean = WeightMath.toDouble(sum.meanDelta());
    // 16 bits on [-1, 1]: each value is off by less than one step, 3.1e-5, before weighting.
    double worst = 0;
    for (int a = 0; a < mean.length; a++) {
      for (int i = 0; i < mean[a].length; i++) {
        worst = Math.max(worst, Math.abs(mean[a][i] - weighted[a][i] / examples));
      }
    }
    assertThat(worst).isLessThan(1e-4).isGreaterThan(0);
    assertThat(sum.totalWeight())
        .isCloseTo(examples / 10_000, org.assertj.core.data.Offset.offset(1e-4));
    assertThat(sum.contributors()).isEqualTo(6);
  }

  @Test
  void everyMaskedVectorTheServerReceivesDiffersFromTheUpdateAndLooksUniform()
      throws MessageFormatException {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(10);
    RoundConfig config = RoundConfig.of(1, TRAINING);
    Quantizer q = quantizer(SecAggConfig.defaults());
    Wire wire = new Wire(sites(clients, ids, Map.of()));
    protocol(SecAggConfig.defaults(), ids).unmask(round(), instructions(clients, config), wire);

    assertThat(wire.masked).hasSize(10);
    for (Client c : clients) {
      int[] masked = maskedValues(wire.masked.get(c.id()));
      int[] update = plain(c, config, q);
      int same = 0;
      for (int i = 0; i < masked.length; i++) {
        same += masked[i] == update[i] ? 1 : 0;
      }
      assertThat(same).as("values of %s sent in the clear", c.id()).isLessThan(5);
      assertThat(chiSquare(masked)).as("masked input of %s", c.id()).isLessThan(CHI2_15_AT_0_001);
      // The test can fail: the plain values are far from uniform.
      assertThat(chiSquare(update)).isGreaterThan(100 * CHI2_15_AT_0_001);
    }
  }

  @Test
  void aThirdDroppingAfterTheirMaskedInputStillGivesTheExactSum() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    RoundConfig config = RoundConfig.of(1, TRAINING);
    Wire wire =
        new Wire(sites(clients, ids, Map.of())).vanish(SecureAggregation.UNMASK, "s0", "s4", "s8");

    SecureAggregation.Unmasked u =
        protocol(SecAggConfig.defaults(), ids).unmask(round(), instructions(clients, config), wire);

    assertThat(u.contributors()).hasSize(9);
    assertThat(u.failures())
        .extracting(SiteFailure::siteId)
        .containsExactlyInAnyOrder("s0", "s4", "s8");
    assertSumOfAllBut(u, clients, config);
  }

  @Test
  void sitesDroppingBeforeTheirMaskedInputAreLeftOutOfTheSum() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    RoundConfig config = RoundConfig.of(1, TRAINING);
    Wire wire =
        new Wire(sites(clients, ids, Map.of())).vanish(SecureAggregation.MASK, "s1", "s2", "s3");

    SecureAggregation.Unmasked u =
        protocol(SecAggConfig.defaults(), ids).unmask(round(), instructions(clients, config), wire);

    List<Client> rest =
        clients.stream().filter(c -> !Set.of("s1", "s2", "s3").contains(c.id())).toList();
    assertThat(u.contributors())
        .containsExactlyInAnyOrderElementsOf(rest.stream().map(Client::id).toList());
    assertThat(u.sum()).containsExactly(plainSum(rest, config, quantizer(SecAggConfig.defaults())));
  }

  @Test
  void fewerThanTSurvivorsAbandonTheRoundAndKeepTheGlobalWeights() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(6);
    Transport inner = sites(clients, ids, Map.of());
    // s0..s3 answer until they are asked to unmask: 2 survivors, threshold 4.
    Transport flaky =
        new Transport() {
          @Override
          public List<String> siteIds() {
            return inner.siteIds();
          }

          @Override
          public byte[] exchange(String siteId, byte[] request)
              throws IOException, InterruptedException {
            if (Frame.kind(request).orElseThrow().equals(SecureAggregation.UNMASK)
                && siteId.compareTo("s4") < 0) {
              throw new IOException("connection lost");
            }
            return inner.exchange(siteId, request);
          }
        };
    FederationHistory history =
        Federation.builder(SPEC, flaky)
            .strategy(StandardStrategy.builder().localTraining(TRAINING).build())
            .fitProtocol(protocol(SecAggConfig.defaults().withNeighbourhood(5, 4), ids))
            .rounds(1)
            .build()
            .run(GLOBAL);

    RoundResult r = history.rounds().get(0);
    assertThat(r.abandoned())
        .hasValueSatisfying(
            reason -> assertThat(reason).contains("surviving neighbours, the threshold is 4"));
    assertThat(r.toString()).contains("abandoned");
    assertThat(r.succeeded()).isZero();
    assertThat(history.finalWeights()).isEqualTo(GLOBAL);
  }

  @Test
  void tooFewSampledSitesAbandonTheRoundBeforeAnyStage() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(3);
    Wire wire = new Wire(sites(clients, ids, Map.of()));
    assertThatThrownBy(
            () ->
                protocol(SecAggConfig.defaults().withNeighbourhood(2, 2), ids)
                    .unmask(
                        round(),
                        instructions(clients.subList(0, 2), RoundConfig.of(1, TRAINING)),
                        wire))
        .isInstanceOf(RoundAbandonedException.class)
        .hasMessageContaining("2 sites sampled, secure aggregation needs at least 3");
    assertThat(wire.seen).isEmpty();
  }

  @Test
  void aSiteSendingAnInconsistentShareIsDetectedAndNamed() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(8);
    RoundConfig config = RoundConfig.of(1, TRAINING);
    // s3 sends s5 a seed share off its polynomial, signed as it is.
    SecAggSite.Tamper tamper = flipping("s5", Secret.SEED);
    Wire wire = new Wire(sites(clients, ids, Map.of("s3", tamper)));

    SecureAggregation.Unmasked u =
        protocol(SecAggConfig.defaults().withNeighbourhood(7, 5), ids)
            .unmask(round(), instructions(clients, config), wire);

    assertOnlyFailure(u, "s3", "dealt s5 shares of its seed that do not fit its commitment");
    assertSumOfAllBut(u, clients, config);
  }

  @Test
  void oneInconsistentShareWithoutSparesAbandonsTheRoundNamingItsDealer() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(4);
    SecAggSite.Tamper tamper = flipping("s0", Secret.SEED);
    Wire wire = new Wire(sites(clients, ids, Map.of("s2", tamper)));
    // k = 3, t = 3: the three shares of s2's seed are all needed, one of them is bad.
    assertThatThrownBy(
            () ->
                protocol(SecAggConfig.defaults().withNeighbourhood(3, 3), ids)
                    .unmask(round(), instructions(clients, RoundConfig.of(1, TRAINING)), wire))
        .isInstanceOfSatisfying(
            RoundAbandonedException.class,
            e -> {
              assertThat(e)
                  .hasMessageContaining("the shares s2 dealt of its seed are inconsistent");
              assertThat(e.failures()).extracting(SiteFailure::siteId).containsExactly("s2");
            });
  }

  @Test
  void aSiteDealingAnInconsistentMaskKeyShareAndDroppingIsNamed() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(8);
    RoundConfig config = RoundConfig.of(1, TRAINING);
    SecAggSite.Tamper tamper = flipping("s6", Secret.MASK_KEY);
    Wire wire =
        new Wire(sites(clients, ids, Map.of("s3", tamper))).vanish(SecureAggregation.MASK, "s3");

    SecureAggregation.Unmasked u =
        protocol(SecAggConfig.defaults().withNeighbourhood(7, 5), ids)
            .unmask(round(), instructions(clients, config), wire);

    assertThat(u.failures())
        .filteredOn(f -> f.reason().contains("dealt"))
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.siteId()).isEqualTo("s3");
              assertThat(f.reason()).contains("dealt s6 shares of its mask key");
            });
    assertSumOfAllBut(u, clients, config, "s3");
  }

  @Test
  void aSiteFailingToShareIsLeftOutAndTheOthersSumExactly() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(7);
    RoundConfig config = RoundConfig.of(1, TRAINING);
    Wire wire = new Wire(sites(clients, ids, Map.of())).vanish(SecureAggregation.SHARE, "s2");

    SecureAggregation.Unmasked u =
        protocol(SecAggConfig.defaults(), ids).unmask(round(), instructions(clients, config), wire);

    List<Client> rest = clients.stream().filter(c -> !c.id().equals("s2")).toList();
    assertThat(u.contributors()).doesNotContain("s2").hasSize(6);
    assertThat(u.sum()).containsExactly(plainSum(rest, config, quantizer(SecAggConfig.defaults())));
  }

  @Test
  void fewerThanTSitesSendingTheirInputAbandonTheRound() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(6);
    Wire wire =
        new Wire(sites(clients, ids, Map.of())).vanish(SecureAggregation.MASK, "s0", "s1", "s2");
    // k = 5, t = 4: each survivor's seed is held by the 2 other survivors only, and no survivor
    // has the 4 surviving neighbours it needs before it reveals: no one is asked to.
    assertThatThrownBy(
            () ->
                protocol(SecAggConfig.defaults().withNeighbourhood(5, 4), ids)
                    .unmask(round(), instructions(clients, RoundConfig.of(1, TRAINING)), wire))
        .isInstanceOf(RoundAbandonedException.class)
        .hasMessageContaining(
            "is held by 0 surviving neighbours able to reveal it, the threshold is 4");
    assertThat(wire.stages).doesNotContain(SecureAggregation.UNMASK);
  }

  @Test
  void survivorsInGroupsThatShareNoMasksAreNotUnmasked() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(17);
    Wire wire = new Wire(sites(clients, ids, Map.of()));
    // n = 17 under the defaults: k = 10 of 16 (a smaller k, a ring say, is below what the sites
    // accept). The ten neighbours of s0 drop before their input, which leaves s0 in a group of
    // its own.
    wire.beforeStage =
        out ->
            out.forEach(
                (site, bytes) -> {
                  if (site.equals("s0")
                      && Frame.kind(bytes).orElseThrow().equals(SecureAggregation.ADVERTISE)) {
                    wire.vanish(SecureAggregation.MASK, neighbours(bytes).toArray(String[]::new));
                  }
                });
    assertThatThrownBy(
            () ->
                protocol(SecAggConfig.defaults(), ids)
                    .unmask(round(), instructions(clients, RoundConfig.of(1, TRAINING)), wire))
        .isInstanceOf(RoundAbandonedException.class)
        .hasMessageContaining("fall into groups that share no masks");
    assertThat(wire.gone).hasSize(10).doesNotContain("s0");
  }

  static List<String> neighbours(byte[] advertise) {
    try {
      return AdvertiseRequest.read(new Body.Reader(advertise, SecureAggregation.ADVERTISE, "test"))
          .neighbours;
    } catch (MessageFormatException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void aSiteRefusesARequestReplayedOrOutOfOrder() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(5);
    Transport transport = sites(clients, ids, Map.of());
    Wire wire = new Wire(transport);
    Map<String, byte[]> lastRequest = new TreeMap<>();
    List<String> refusals = new ArrayList<>();
    wire.requests =
        (site, bytes) -> {
          lastRequest.put(site, bytes);
          return bytes;
        };
    wire.answers =
        (site, bytes) -> {
          if (site.equals("s0")
              && !Frame.kind(lastRequest.get(site))
                  .orElseThrow()
                  .equals(SecureAggregation.ADVERTISE)) {
            try {
              transport.exchange(site, lastRequest.get(site));
            } catch (IOException e) {
              refusals.add(e.getMessage());
            } catch (InterruptedException e) {
              throw new AssertionError(e);
            }
          }
          return bytes;
        };
    SecureAggregation.Unmasked u =
        protocol(SecAggConfig.defaults(), ids)
            .unmask(round(), instructions(clients, RoundConfig.of(1, TRAINING)), wire);

    // An advertisement request starts a new round; a replay of any later stage is refused,
    // and the round goes on.
    assertThat(refusals).hasSize(4).allSatisfy(r -> assertThat(r).contains("s0 refuses"));
    assertThat(refusals.subList(0, 3))
        .allSatisfy(r -> assertThat(r).contains("a request out of order"));
    assertThat(refusals.get(3)).contains("a request of no round it advertised keys for");
    assertThat(u.failures()).isEmpty();
    assertThat(u.contributors()).hasSize(5);
  }

  @Test
  void aShareAlteredByItsHolderIsBlamedOnTheHolder() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(8);
    RoundConfig config = RoundConfig.of(1, TRAINING);
    Wire wire = new Wire(sites(clients, ids, Map.of()));
    // s6 flips a bit of every share it reveals, after the sharers signed them.
    wire.answers =
        rewriting(
            "s6",
            SecureAggregation.REVEALED,
            r -> {
              Body.Writer w = new Body.Writer().string(r.string());
              int count = r.u16();
              w.u16(count);
              for (int i = 0; i < count; i++) {
                w.string(r.string()).u16(r.u16()).u16(r.u16());
                byte[] share = r.fixed(Shamir.SHARE_BYTES);
                share[share.length - 1] ^= 1;
                w.fixed(share).fixed(r.fixed(SecAggSite.SALT_BYTES));
              }
              return w.frame(SecureAggregation.REVEALED);
            });

    SecureAggregation.Unmasked u =
        protocol(SecAggConfig.defaults().withNeighbourhood(7, 5), ids)
            .unmask(round(), instructions(clients, config), wire);

    assertThat(u.failures())
        .isNotEmpty()
        .allSatisfy(
            f -> {
              assertThat(f.siteId()).isEqualTo("s6");
              assertThat(f.reason())
                  .contains("returned shares that are not the ones their owners committed to");
            });
    assertSumOfAllBut(u, clients, config);
  }

  @Test
  void aSiteToldAnotherSurvivorSetThanItsNeighboursIsCaught() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(8);
    RoundConfig config = RoundConfig.of(1, TRAINING);
    Wire wire = new Wire(sites(clients, ids, Map.of()));
    // A curious server tells s1 that s2 dropped, hoping for s2's mask-key share while the others
    // reveal s2's seed share: s1 signs that story, its neighbours signed the true one.
    wire.requests = rewritingSurvivors("s1", told -> told.remove("s2"));

    SecureAggregation.Unmasked u =
        protocol(SecAggConfig.defaults().withNeighbourhood(7, 5), ids)
            .unmask(round(), instructions(clients, config), wire);

    // The server's own check sees s1's signature cover another set and leaves s1 out of the
    // unmasking; s1 asked anyway would find its neighbours' signatures cover another set than
    // its own and reveal nothing (SecAggAttackTest).
    assertOnlyFailure(u, "s1", "secagg consistency: a signature that is not site s1's");
    assertSumOfAllBut(u, clients, config);
  }

  @Test
  void aForgedAdvertisementIsRefused() {
    SimulatedIdentities ids = new SimulatedIdentities();
    SimulatedIdentities strangers = new SimulatedIdentities();
    List<Client> clients = clients(6);
    List<ClientRuntime> runtimes = new ArrayList<>();
    for (Client c : clients) {
      // s5 signs with a key the federation never registered.
      SiteIdentity identity = c.id().equals("s5") ? strangers.of("s5") : ids.of(c.id());
      runtimes.add(ClientRuntime.of(c).withStages(SecAggSite.of(identity, ids.verifier())));
    }
    Wire wire = new Wire(InProcessTransport.ofRuntimes(runtimes));
    SecureAggregation.Unmasked u =
        protocol(SecAggConfig.defaults(), ids)
            .unmask(round(), instructions(clients, RoundConfig.of(1, TRAINING)), wire);

    assertThat(u.failures()).extracting(SiteFailure::siteId).contains("s5");
    assertThat(u.failures())
        .filteredOn(f -> f.siteId().equals("s5"))
        .singleElement()
        .satisfies(f -> assertThat(f.reason()).contains("not the registered key of site s5"));
    assertThat(u.contributors()).hasSize(5).doesNotContain("s5");
  }

  @Test
  void dpFedAvgClipsOnTheSitesAndAddsItsNoiseOnceToTheUnmaskedSum() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(6);
    Weights plain = dpRound(new InProcessTransport(clients), Optional.empty());
    Weights secure =
        dpRound(sites(clients, ids, Map.of()), Optional.of(protocol(SecAggConfig.defaults(), ids)));
    // The same clipped updates and the same noise: equal up to the 16-bit quantization.
    double[][] a = WeightMath.toDouble(plain);
    double[][] b = WeightMath.toDouble(secure);
    double worst = 0;
    double moved = 0;
    double[][] g = WeightMath.toDouble(GLOBAL);
    for (int i = 0; i < a.length; i++) {
      for (int j = 0; j < a[i].length; j++) {
        worst = Math.max(worst, Math.abs(a[i][j] - b[i][j]));
        moved = Math.max(moved, Math.abs(a[i][j] - g[i][j]));
      }
    }
    assertThat(moved).isGreaterThan(0.01);
    assertThat(worst).isLessThan(1e-4);
  }

  private static Weights dpRound(
      Transport transport, java.util.Optional<SecureAggregation> secure) {
    DpFedAvg dp =
        DpFedAvg.wrap(
                StandardStrategy.builder().localTraining(TRAINING).sampling(Sampling.all()).build())
            .clipNorm(0.5)
            .noiseMultiplier(0.1)
            .samplingProbability(1)
            .seededForSimulation(3)
            .build();
    Federation.Builder b = Federation.builder(SPEC, transport).strategy(dp).rounds(1);
    secure.ifPresent(b::fitProtocol);
    return b.build().run(GLOBAL).finalWeights();
  }

  @Test
  void robustAggregatorsAreRefusedWithSecureAggregation() {
    SimulatedIdentities ids = new SimulatedIdentities();
    assertThatThrownBy(
            () ->
                Federation.builder(SPEC, sites(clients(4), ids, Map.of()))
                    .strategy(StandardStrategy.builder().aggregator(new FedMedian()).build())
                    .fitProtocol(SecureAggregation.of(SecAggConfig.defaults(), ids.verifier()))
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("gives the server only the sum of the updates")
        .hasMessageContaining("needs each site's update");
  }

  @Test
  void sumsThatCouldWrapAndThresholdsAboveKAreRefused() {
    assertThat(SecAggConfig.defaults().withBits(24).overflow(1000))
        .contains("could overflow the 32-bit sum");
    assertThat(SecAggConfig.defaults().withBits(16).overflow(1000)).isEmpty();
    assertThatThrownBy(() -> SecAggConfig.defaults().withNeighbourhood(4, 5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("threshold 5 of 4");
    assertThat(SecAggConfig.defaults().neighboursFor(100)).isEqualTo(14);
    assertThat(SecAggConfig.defaults().neighboursFor(1000)).isEqualTo(20);
    assertThat(SecAggConfig.defaults().withNeighbourhood(5, 0).neighboursFor(100)).isEqualTo(6);
    assertThat(SecAggConfig.defaults().neighboursFor(5)).isEqualTo(4);
    assertThatThrownBy(() -> SecAggConfig.defaults().withNeighbourhood(300, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at most 256");
  }

  @Test
  void shamirRebuildsFromAnyTSharesAndNotFromFewer() throws GeneralSecurityException {
    byte[] secret = new byte[32];
    seeded(5).nextBytes(secret);
    List<java.math.BigInteger> shares = Shamir.split(secret, 3, 5, seeded(6));
    Map<Integer, java.math.BigInteger> any3 =
        new TreeMap<>(Map.of(2, shares.get(1), 4, shares.get(3), 5, shares.get(4)));
    assertThat(Shamir.combine(any3, 32)).hasValue(secret);
    assertThat(new Shamir.Polynomial(any3).at(1)).isEqualTo(shares.get(0));
    Map<Integer, java.math.BigInteger> two =
        new TreeMap<>(Map.of(1, shares.get(0), 3, shares.get(2)));
    assertThat(Shamir.combine(two, 32).map(java.util.Arrays::toString))
        .isNotEqualTo(java.util.Optional.of(java.util.Arrays.toString(secret)));
  }

  @Test
  void hkdfMatchesRfc5869() throws GeneralSecurityException {
    byte[] ikm = new byte[22];
    java.util.Arrays.fill(ikm, (byte) 0x0b);
    byte[] salt = new byte[13];
    for (int i = 0; i < salt.length; i++) {
      salt[i] = (byte) i;
    }
    byte[] info = new byte[10];
    for (int i = 0; i < info.length; i++) {
      info[i] = (byte) (0xf0 + i);
    }
    // Test cases 1 and 3, the first 32 bytes of their output.
    assertThat(java.util.HexFormat.of().formatHex(Crypto.hkdf(ikm, salt, info)))
        .isEqualTo("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf");
    assertThat(java.util.HexFormat.of().formatHex(Crypto.hkdf(ikm, new byte[0], new byte[0])))
        .isEqualTo("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d");
  }

  @Test
  void aSiteRefusesAnAdvertisementItsVerifierRejectsEvenIfTheServerPassedIt() throws Exception {
    SimulatedIdentities ids = new SimulatedIdentities();
    SimulatedIdentities strangers = new SimulatedIdentities();
    ids.of("s1");
    SecAggSite honest = SecAggSite.of(ids.of("s0"), ids.verifier());
    SecAggSite forger = SecAggSite.of(strangers.of("s1"), strangers.verifier());
    Client c0 = clients(1).get(0);
    Client c1 = new Drift("s1", 10);
    byte[] session = new byte[16];
    byte[] advertOfS1 =
        forger.handle(
            advertise(session, "s1", List.of("s0", "s2")),
            c1,
            io.mnistfl.fl.site.SiteLimits.defaults());
    honest.handle(
        advertise(session, "s0", List.of("s1", "s2")),
        c0,
        io.mnistfl.fl.site.SiteLimits.defaults());
    Body.Reader r = new Body.Reader(advertOfS1, Advertisement.KIND, "test");
    Body.Writer share = new Body.Writer().fixed(session).i32(1).string("s0").u16(1);
    Advertisement.read(r).write(share);

    assertThatThrownBy(
            () ->
                honest.handle(
                    share.frame(SecureAggregation.SHARE),
                    c0,
                    io.mnistfl.fl.site.SiteLimits.defaults()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("site s0 refuses: not the registered key of site s1");
  }

  static byte[] advertise(byte[] session, String site, List<String> neighbours) {
    return advertise(session, site, neighbours, neighbours.size() / 2 + 1);
  }

  /**
   * An advertisement request of round 1 with {@code threshold}, 16 bits on [−1, 1], no DP, training
   * from {@link #GLOBAL}.
   */
  static byte[] advertise(byte[] session, String site, List<String> neighbours, int threshold) {
    return new AdvertiseRequest(session, site, neighbours, threshold).frame();
  }

  /** An advertisement request field by field, for a test to write or to read and rewrite. */
  static final class AdvertiseRequest {
    byte[] session;
    int round = 1;
    String site;
    int threshold;
    int bits = 16;
    double clipRange = 1;
    int exampleCap = 10_000;
    double clipNorm = Double.NaN;
    byte[] trainedFrom = SecureAggregation.trainedFrom(GLOBAL);
    List<String> neighbours;

    private AdvertiseRequest() {}

    /** Round 1 with {@code threshold}, 16 bits on [−1, 1], no DP, training from {@link #GLOBAL}. */
    AdvertiseRequest(byte[] session, String site, List<String> neighbours, int threshold) {
      this.session = session;
      this.site = site;
      this.neighbours = neighbours;
      this.threshold = threshold;
    }

    static AdvertiseRequest read(Body.Reader r) throws MessageFormatException {
      AdvertiseRequest a = new AdvertiseRequest();
      a.session = r.fixed(16);
      a.round = r.i32();
      a.site = r.string();
      a.threshold = r.u16();
      a.bits = r.i32();
      a.clipRange = r.f64();
      a.exampleCap = r.i32();
      a.clipNorm = r.f64();
      a.trainedFrom = r.fixed(32);
      a.neighbours = r.strings(300);
      return a;
    }

    byte[] frame() {
      return new Body.Writer()
          .fixed(session)
          .i32(round)
          .string(site)
          .u16(threshold)
          .i32(bits)
          .f64(clipRange)
          .i32(exampleCap)
          .f64(clipNorm)
          .fixed(trainedFrom)
          .strings(neighbours)
          .frame(SecureAggregation.ADVERTISE);
    }
  }

  @Test
  void publicKeysOfSmallOrderAreRefused() throws GeneralSecurityException {
    byte[] prefix = java.util.HexFormat.of().parseHex("302a300506032b656e032100");
    byte[] zero = java.util.Arrays.copyOf(prefix, prefix.length + 32);
    assertThatThrownBy(
            () ->
                Crypto.requireUsable(Crypto.x25519(seeded(2)).getPrivate(), Crypto.publicKey(zero)))
        .isInstanceOf(GeneralSecurityException.class);
    Crypto.requireUsable(
        Crypto.x25519(seeded(2)).getPrivate(), Crypto.x25519(seeded(1)).getPublic());
  }

  @Test
  void aSiteDealingSharesToOnlySomeOfItsNeighboursIsLeftOut() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(7);
    RoundConfig config = RoundConfig.of(1, TRAINING);
    Wire wire = new Wire(sites(clients, ids, Map.of()));
    // s2 keeps one neighbour out of its shares: that pair's masks would not cancel.
    wire.answers =
        rewritingShares("s2", byHolder -> byHolder.remove(byHolder.keySet().iterator().next()));

    SecureAggregation.Unmasked u =
        protocol(SecAggConfig.defaults(), ids).unmask(round(), instructions(clients, config), wire);

    assertOnlyFailure(u, "s2", "shares for 5 of its 6 neighbours");
    assertSumOfAllBut(u, clients, config, "s2");
  }

  /**
   * A tamper that flips the last byte of the {@code kind} share its dealer sends {@code holder}.
   */
  static SecAggSite.Tamper flipping(String holder, Secret kind) {
    return (share, to, k) -> {
      byte[] bad = share.clone();
      if (to.equals(holder) && k == kind) {
        bad[bad.length - 1] ^= 1;
      }
      return bad;
    };
  }

  /**
   * A tamper that deals the holders in {@code off} seed shares off its polynomial by the given
   * amounts.
   */
  static SecAggSite.Tamper offBy(Map<String, BigInteger> off) {
    return (share, holder, kind) ->
        kind != Secret.SEED || !off.containsKey(holder)
            ? share
            : Shamir.bytes(Shamir.value(share).add(off.get(holder)).mod(Shamir.P));
  }

  private static void assertOnlyFailure(SecureAggregation.Unmasked u, String site, String reason) {
    assertThat(u.failures())
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.siteId()).isEqualTo(site);
              assertThat(f.reason()).contains(reason);
            });
  }

  /** The unmasked sum is exactly the plain quantized sum of the clients but {@code leftOut}. */
  static void assertSumOfAllBut(
      SecureAggregation.Unmasked u, List<Client> clients, RoundConfig config, String... leftOut) {
    List<Client> rest = clients.stream().filter(c -> !List.of(leftOut).contains(c.id())).toList();
    assertThat(u.sum()).containsExactly(plainSum(rest, config, quantizer(SecAggConfig.defaults())));
  }

  /**
   * The clients but {@code leftOut} are the contributors, in their order, and the unmasked sum is
   * exactly their plain quantized sum.
   */
  static void assertContributorsAndSumOfAllBut(
      SecureAggregation.Unmasked u, List<Client> clients, RoundConfig config, String... leftOut) {
    List<Client> rest = clients.stream().filter(c -> !List.of(leftOut).contains(c.id())).toList();
    assertThat(u.contributors()).containsExactlyElementsOf(rest.stream().map(Client::id).toList());
    assertSumOfAllBut(u, clients, config, leftOut);
  }

  /** The failures of {@code u}, as (site, reason), to assert on. */
  static AbstractListAssert<?, List<? extends Tuple>, Tuple, ObjectAssert<Tuple>>
      assertThatFailures(SecureAggregation.Unmasked u) {
    return assertThat(u.failures()).extracting(SiteFailure::siteId, SiteFailure::reason);
  }

  /** {@code ad} with {@code maskingKey} in place of its own, re-signed by its site. */
  static byte[] withMaskingKey(
      SimulatedIdentities ids, byte[] session, Advertisement ad, byte[] maskingKey)
      throws GeneralSecurityException {
    byte[] signature =
        ids.of(ad.siteId())
            .sign(
                Advertisement.signed(
                    session,
                    1,
                    ad.siteId(),
                    ad.parameters(),
                    ad.sharingKey(),
                    maskingKey,
                    ad.seedCommitment(),
                    ad.keyCommitment(),
                    ad.shareCommitments()));
    Body.Writer w = new Body.Writer();
    new Advertisement(
            ad.siteId(),
            ad.parameters(),
            ad.sharingKey(),
            maskingKey,
            ad.seedCommitment(),
            ad.keyCommitment(),
            ad.shareCommitments(),
            ad.credential(),
            signature)
        .write(w);
    return w.frame(Advertisement.KIND);
  }

  /** Rewrites the survivor set {@code site} is told: {@code edit} changes it. */
  static BiFunction<String, byte[], byte[]> rewritingSurvivors(
      String site, java.util.function.Consumer<List<String>> edit) {
    return rewriting(
        site,
        SecureAggregation.CONSISTENCY,
        r -> {
          Body.Writer w = new Body.Writer().fixed(r.fixed(16)).i32(r.i32()).string(r.string());
          List<String> told = new ArrayList<>(r.strings(100));
          edit.accept(told);
          return w.strings(told).frame(SecureAggregation.CONSISTENCY);
        });
  }

  /** Rewrites a message read from its body. */
  interface Rewrite {
    byte[] apply(Body.Reader body) throws MessageFormatException;
  }

  /** Rewrites {@code site}'s messages of {@code kind} with {@code rewrite}, and passes the rest. */
  static BiFunction<String, byte[], byte[]> rewriting(String site, String kind, Rewrite rewrite) {
    return (to, bytes) -> {
      if (!to.equals(site) || !Frame.kind(bytes).orElseThrow().equals(kind)) {
        return bytes;
      }
      try {
        return rewrite.apply(new Body.Reader(bytes, kind, "test"));
      } catch (MessageFormatException e) {
        throw new AssertionError(e);
      }
    };
  }
}
