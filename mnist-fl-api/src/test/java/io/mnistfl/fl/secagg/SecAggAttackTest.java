package io.mnistfl.fl.secagg;

import static io.mnistfl.fl.secagg.SecureAggregationTest.GLOBAL;
import static io.mnistfl.fl.secagg.SecureAggregationTest.TRAINING;
import static io.mnistfl.fl.secagg.SecureAggregationTest.assertContributorsAndSumOfAllBut;
import static io.mnistfl.fl.secagg.SecureAggregationTest.assertSumOfAllBut;
import static io.mnistfl.fl.secagg.SecureAggregationTest.assertThatFailures;
import static io.mnistfl.fl.secagg.SecureAggregationTest.clients;
import static io.mnistfl.fl.secagg.SecureAggregationTest.handle;
import static io.mnistfl.fl.secagg.SecureAggregationTest.idsOf;
import static io.mnistfl.fl.secagg.SecureAggregationTest.instructions;
import static io.mnistfl.fl.secagg.SecureAggregationTest.numbering;
import static io.mnistfl.fl.secagg.SecureAggregationTest.plainSum;
import static io.mnistfl.fl.secagg.SecureAggregationTest.protocol;
import static io.mnistfl.fl.secagg.SecureAggregationTest.quantizer;
import static io.mnistfl.fl.secagg.SecureAggregationTest.revealedShares;
import static io.mnistfl.fl.secagg.SecureAggregationTest.rewriting;
import static io.mnistfl.fl.secagg.SecureAggregationTest.rewritingSurvivors;
import static io.mnistfl.fl.secagg.SecureAggregationTest.round;
import static io.mnistfl.fl.secagg.SecureAggregationTest.sites;
import static io.mnistfl.fl.secagg.SecureAggregationTest.unmaskUnderDefaults;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.groups.Tuple.tuple;

import io.mnistfl.fl.Client;
import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.fl.Transport;
import io.mnistfl.fl.aggregate.WeightMath;
import io.mnistfl.fl.secagg.SecureAggregationTest.AdvertiseRequest;
import io.mnistfl.fl.secagg.SecureAggregationTest.RevealedShare;
import io.mnistfl.fl.secagg.SecureAggregationTest.Wire;
import io.mnistfl.fl.server.FitResults;
import io.mnistfl.fl.server.RoundAbandonedException;
import io.mnistfl.fl.sim.InProcessTransport;
import io.mnistfl.fl.site.ClientRuntime;
import io.mnistfl.fl.wire.Frame;
import io.mnistfl.fl.wire.MessageFormatException;
import io.mnistfl.model.Weights;
import java.io.IOException;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Attacks on secure aggregation by a malicious server and by malicious sites, each run against the
 * real sites and server: a server telling different sites different stories about who dropped
 * (issue 21, item 7), thresholds that let it, a site setting the mean's denominator or pushing its
 * values off the scale (item 8), a dealer numbering its shares out of order (item 9) and an update
 * that is not finite (item 10).
 */
class SecAggAttackTest {
  private static final RoundConfig CONFIG = RoundConfig.of(1, TRAINING);

  /**
   * A server that runs the real protocol up to its masked inputs, then tells the sites in {@code
   * toldDropped} that {@code target} dropped and the others that it survived, and records what each
   * site signed. Afterwards it asks each site itself to reveal, forwarding whatever signatures it
   * chooses, so that the sites' own checks are what stands in its way.
   */
  static final class Liar {
    final Wire wire;
    final Map<String, List<String>> told = new TreeMap<>();
    final Map<String, byte[]> signatures = new TreeMap<>();
    final Map<String, String> refusals = new TreeMap<>();
    final Map<String, byte[]> revealed = new TreeMap<>();
    byte[] session;
    int round;

    Liar(Transport transport, String target, Set<String> toldDropped) {
      wire = new Wire(transport);
      wire.requests =
          (site, bytes) -> {
            String kind = Frame.kind(bytes).orElseThrow();
            try {
              // Every request of the stages starts with the session and the round.
              Body.Reader r = new Body.Reader(bytes, kind, "test");
              session = r.fixed(16);
              round = r.i32();
              if (!kind.equals(SecureAggregation.CONSISTENCY)) {
                return bytes;
              }
              r.string();
              List<String> survivors = new ArrayList<>(r.strings(100));
              if (toldDropped.contains(site)) {
                survivors.remove(target);
              }
              told.put(site, survivors);
              return header(site).strings(survivors).frame(SecureAggregation.CONSISTENCY);
            } catch (MessageFormatException e) {
              throw new AssertionError(e);
            }
          };
      wire.answers =
          (site, bytes) -> {
            if (Frame.kind(bytes).orElseThrow().equals(SecureAggregation.SIGNED)) {
              try {
                Body.Reader r = new Body.Reader(bytes, SecureAggregation.SIGNED, "test");
                r.string();
                signatures.put(site, r.bytes(512));
              } catch (MessageFormatException e) {
                throw new AssertionError(e);
              }
            }
            return bytes;
          };
    }

    Body.Writer header(String site) {
      return new Body.Writer().fixed(session).i32(round).string(site);
    }

    /** Asks {@code site} to reveal, forwarding {@code forwarded} as its neighbours' signatures. */
    void unmask(String site, Map<String, byte[]> forwarded) {
      Body.Writer w = header(site).u16(forwarded.size());
      forwarded.forEach((signer, signature) -> w.string(signer).bytes(signature));
      try {
        revealed.put(site, wire.transport.exchange(site, w.frame(SecureAggregation.UNMASK)));
      } catch (IOException e) {
        refusals.put(site, e.getMessage());
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }

    /** Asks each of {@code sites} to reveal, forwarding the signatures of every other site. */
    void unmaskEach(List<String> sites) {
      for (String site : sites) {
        unmask(site, othersSignatures(site));
      }
    }

    /** The signatures of every site but {@code site}, as they signed them. */
    Map<String, byte[]> othersSignatures(String site) {
      Map<String, byte[]> out = new TreeMap<>(signatures);
      out.remove(site);
      return out;
    }
  }

  /** The kinds of the shares of {@code owner} in revealed answers, by kind ordinal. */
  private static List<Integer> kindsRevealedOf(String owner, Iterable<byte[]> answers)
      throws MessageFormatException {
    return revealedShares(answers).stream()
        .filter(s -> s.owner().equals(owner))
        .map(RevealedShare::kind)
        .toList();
  }

  private static final Set<String> HALF = Set.of("s0", "s1", "s2", "s3");

  /** Runs the real server over the liar's wire; it abandons the round before anyone reveals. */
  private static void runHonestStagesOf(Liar liar, List<Client> clients, SimulatedIdentities ids) {
    Throwable outcome = catchThrowable(() -> unmaskUnderDefaults(ids, clients, liar.wire));
    assertThat(outcome).isInstanceOf(RoundAbandonedException.class);
    assertThat(liar.wire.stages).doesNotContain(SecureAggregation.UNMASK);
  }

  @Test
  void aServerTellingHalfOfATargetsNeighboursThatItDroppedGetsNoShareAtAll()
      throws MessageFormatException {
    // n = 9 under the defaults: k = 8 (everyone), t = 5. Four of s4's neighbours are told it
    // dropped, four that it survived: with t = k/2 the server would get 4 + its own story's
    // shares of both secrets; now every site sees its neighbours signed another set.
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    Liar liar = new Liar(sites(clients, ids, Map.of()), "s4", HALF);
    runHonestStagesOf(liar, clients, ids);
    assertThat(liar.told.get("s0")).doesNotContain("s4");
    assertThat(liar.told.get("s5")).contains("s4");

    liar.unmaskEach(idsOf(clients));

    assertThat(liar.revealed).isEmpty();
    assertThat(liar.refusals)
        .hasSize(9)
        .allSatisfy(
            (site, why) ->
                assertThat(why)
                    .contains("site " + site + " refuses: reveals nothing")
                    .contains("the server told its neighbours different survivor sets"));
  }

  @Test
  void theLiarsHarnessSeesSharesWhenItsStoryIsConsistent() throws MessageFormatException {
    // The control of the attacks here: told one story, with the real server's unmasking kept
    // from the sites, the sites reveal to the liar, and of s4, which sent its input, only seed
    // shares.
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    Liar liar = new Liar(sites(clients, ids, Map.of()), "s4", Set.of());
    liar.wire.vanish(SecureAggregation.UNMASK, idsOf(clients).toArray(String[]::new));
    assertThat(catchThrowable(() -> unmaskUnderDefaults(ids, clients, liar.wire)))
        .isInstanceOf(RoundAbandonedException.class);

    liar.unmaskEach(idsOf(clients));

    assertThat(liar.refusals).isEmpty();
    assertThat(liar.revealed).hasSize(9);
    assertThat(kindsRevealedOf("s4", liar.revealed.values()))
        .hasSize(8)
        .containsOnly(Secret.SEED.ordinal());
  }

  @Test
  void forgedRelabelledOrWithheldSignaturesDoNotGetTheSplitStoryPast()
      throws MessageFormatException {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    Liar liar = new Liar(sites(clients, ids, Map.of()), "s4", HALF);
    runHonestStagesOf(liar, clients, ids);

    // s0 (told s4 dropped): signatures of random bytes for all its neighbours.
    Map<String, byte[]> forged = new TreeMap<>();
    java.util.Random bytes = new java.util.Random(5);
    for (String v : liar.othersSignatures("s0").keySet()) {
      byte[] sig = new byte[71];
      bytes.nextBytes(sig);
      forged.put(v, sig);
    }
    liar.unmask("s0", forged);
    // s1 (told s4 dropped): the genuine signatures of those told the same, and for the others
    // a signature over its own story by one who signed it, relabelled as theirs.
    Map<String, byte[]> relabelled = new TreeMap<>();
    for (String v : liar.othersSignatures("s1").keySet()) {
      relabelled.put(v, HALF.contains(v) ? liar.signatures.get(v) : liar.signatures.get("s0"));
    }
    liar.unmask("s1", relabelled);
    // s5 (told s4 survived): only the signatures that do cover its story, the rest withheld.
    Map<String, byte[]> withheld = new TreeMap<>();
    for (String v : liar.othersSignatures("s5").keySet()) {
      if (liar.told.get(v).equals(liar.told.get("s5"))) {
        withheld.put(v, liar.signatures.get(v));
      }
    }
    assertThat(withheld).hasSize(4);
    liar.unmask("s5", withheld);

    assertThat(liar.revealed).isEmpty();
    assertThat(liar.refusals.get("s0"))
        .contains("reveals nothing: 0 of its neighbours signed the survivor set it was told")
        .contains("different survivor sets");
    assertThat(liar.refusals.get("s1"))
        .contains("reveals nothing: 3 of its neighbours signed the survivor set it was told")
        .contains("different survivor sets");
    assertThat(liar.refusals.get("s5"))
        .contains("reveals nothing: 4 of its neighbours signed the survivor set it was told,")
        .contains("the threshold is 5");
  }

  @Test
  void aServerSkippingTheConsistencyStageIsRefused() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    Liar liar = new Liar(sites(clients, ids, Map.of()), "s4", HALF);
    liar.wire.vanish(SecureAggregation.CONSISTENCY, idsOf(clients).toArray(String[]::new));
    runHonestStagesOf(liar, clients, ids);

    for (Client c : clients) {
      liar.unmask(c.id(), Map.of());
    }

    assertThat(liar.revealed).isEmpty();
    assertThat(liar.refusals.values())
        .hasSize(9)
        .allSatisfy(why -> assertThat(why).contains("a request out of order (after MASKED)"));
  }

  @Test
  void aSiteWithFewerThanTSurvivingNeighboursRevealsNothing() {
    // n = 9, t = 5: four sites drop before their input, each survivor has 4 surviving neighbours.
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    Liar liar = new Liar(sites(clients, ids, Map.of()), "none", Set.of());
    liar.wire.vanish(SecureAggregation.MASK, "s0", "s1", "s2", "s3");
    Throwable outcome = catchThrowable(() -> unmaskUnderDefaults(ids, clients, liar.wire));

    // The server asks no one to reveal what could not unmask the sum ...
    assertThat(outcome)
        .isInstanceOf(RoundAbandonedException.class)
        .hasMessageContaining("surviving neighbours able to reveal it, the threshold is 5");
    assertThat(liar.wire.stages).doesNotContain(SecureAggregation.UNMASK);
    // ... and a server that asks anyway, with every signature there is, gets nothing.
    liar.unmaskEach(List.of("s4", "s5", "s6", "s7", "s8"));
    assertThat(liar.revealed).isEmpty();
    assertThat(liar.refusals.values())
        .hasSize(5)
        .allSatisfy(
            why ->
                assertThat(why)
                    .contains("reveals nothing: 4 of its neighbours sent their input,")
                    .contains("the threshold is 5"));
  }

  @Test
  void aServerCountingDroppedSitesAsSurvivorsGetsNothingEither() {
    // The same dropouts, and a server that tells every survivor the dropped sites survived too,
    // so that each counts 8 surviving neighbours: only 4 of them can sign that set.
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    Liar liar = new Liar(sites(clients, ids, Map.of()), "none", Set.of());
    liar.wire.rewriteRequests(
        (site, bytes) -> {
          if (!Frame.kind(bytes).orElseThrow().equals(SecureAggregation.CONSISTENCY)) {
            return bytes;
          }
          List<String> all = idsOf(clients);
          liar.told.put(site, all);
          return liar.header(site).strings(all).frame(SecureAggregation.CONSISTENCY);
        });
    liar.wire.vanish(SecureAggregation.MASK, "s0", "s1", "s2", "s3");
    Throwable outcome = catchThrowable(() -> unmaskUnderDefaults(ids, clients, liar.wire));
    assertThat(outcome).isInstanceOf(RoundAbandonedException.class);

    liar.unmaskEach(List.of("s4", "s5", "s6", "s7", "s8"));
    assertThat(liar.revealed).isEmpty();
    assertThat(liar.refusals.values())
        .hasSize(5)
        .allSatisfy(
            why ->
                assertThat(why)
                    .contains("reveals nothing: 4 of its neighbours signed the survivor set")
                    .contains("the threshold is 5"));
  }

  @Test
  void sitesRefuseAThresholdOfHalfTheirNeighboursOrBelowTwo() throws Exception {
    SimulatedIdentities ids = new SimulatedIdentities();
    SecAggSite site = SecAggSite.of(ids.of("s0"), ids.verifier());
    byte[] session = new byte[16];
    List<String> four = List.of("s1", "s2", "s3", "s4");
    for (Object[] bad :
        new Object[][] {{four, 2}, {four, 1}, {List.of("s1", "s2"), 1}, {List.of("s1"), 1}}) {
      @SuppressWarnings("unchecked")
      List<String> neighbours = (List<String>) bad[0];
      int t = (int) bad[1];
      assertThatThrownBy(
              () -> handle(site, SecureAggregationTest.advertise(session, "s0", neighbours, t)))
          .isInstanceOf(IOException.class)
          .hasMessageContaining(
              "site s0 refuses: a threshold of "
                  + t
                  + " for "
                  + neighbours.size()
                  + " neighbours: it must be at least 2 and more than half of them");
    }
    assertThat(handle(site, SecureAggregationTest.advertise(session, "s0", four, 3))).isNotEmpty();

    // A server sending every site t = k/2, the old default for even k: no site advertises.
    List<Client> clients = clients(9);
    Wire wire = new Wire(sites(clients, ids, Map.of()));
    for (Client c : clients) {
      wire.rewriteRequests(
          rewriting(
              c.id(),
              SecureAggregation.ADVERTISE,
              r -> {
                AdvertiseRequest halved = AdvertiseRequest.read(r);
                halved.threshold = 4;
                return halved.frame();
              }));
    }
    assertThatThrownBy(() -> unmaskUnderDefaults(ids, clients, wire))
        .isInstanceOfSatisfying(
            RoundAbandonedException.class,
            e ->
                assertThat(e.failures())
                    .hasSize(9)
                    .allSatisfy(
                        f ->
                            assertThat(f.reason())
                                .contains("refuses: a threshold of 4 for 8 neighbours")));
    assertThat(wire.stages).containsExactly(SecureAggregation.ADVERTISE);
  }

  @Test
  void theConfigAndTheServerRefuseThresholdsOfHalfOrLess() {
    assertThatThrownBy(() -> SecAggConfig.defaults().withNeighbourhood(4, 2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("threshold 2 of 4 neighbours must be more than half of them");
    assertThatThrownBy(() -> SecAggConfig.defaults().withNeighbourhood(5, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("threshold 3 of 6 neighbours (5 rounded up to even)");
    assertThatThrownBy(() -> SecAggConfig.defaults().withNeighbourhood(0, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("threshold must be at least 2");
    assertThat(SecAggConfig.defaults().withNeighbourhood(4, 3).threshold()).isEqualTo(3);

    // The defaults: k = n − 1 while 2⌈log2 n⌉ reaches it, t = ⌊k/2⌋ + 1.
    SecAggConfig d = SecAggConfig.defaults();
    int[][] expected = {
      {3, 2, 2}, {4, 3, 2}, {5, 4, 3}, {6, 5, 3}, {7, 6, 4}, {8, 6, 4}, {9, 8, 5}, {100, 14, 8}
    };
    for (int[] e : expected) {
      int k = d.neighboursFor(e[0]);
      assertThat(new int[] {k, d.thresholdFor(k)}).as("n = %d", e[0]).containsExactly(e[1], e[2]);
    }

    // An explicit t that k outgrows: with 20 sites k = 10, and t = 3 is not a majority.
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(20);
    Wire wire = new Wire(sites(clients, ids, Map.of()));
    assertThatThrownBy(
            () ->
                protocol(SecAggConfig.defaults().withNeighbourhood(0, 3), ids)
                    .unmask(round(), instructions(clients, CONFIG), wire))
        .isInstanceOf(RoundAbandonedException.class)
        .hasMessageContaining(
            "a threshold of 3 for 10 neighbours (20 sites) is not more than half");
    assertThat(wire.stages).isEmpty();
  }

  /** Rewrites {@code site}'s masked input: {@code values} changes its values, then its weight. */
  private static void tamperMaskedInput(
      Wire wire,
      SimulatedIdentities ids,
      String site,
      java.util.function.Consumer<int[]> values,
      int units,
      boolean resign) {
    wire.rewriteAnswers(
        rewriting(
            site,
            SecureAggregation.MASKED,
            r -> {
              String id = r.string();
              r.u16(); // no complaints
              r.u16(); // an input
              int[] v = r.ints((int) GLOBAL.scalarCount());
              r.i32();
              byte[] signature = r.bytes(512);
              values.accept(v);
              if (resign) {
                try {
                  signature =
                      ids.of(site)
                          .sign(SecureAggregation.weightSigned(wire.session, 1, site, units));
                } catch (GeneralSecurityException e) {
                  throw new AssertionError(e);
                }
              }
              return new Body.Writer()
                  .string(id)
                  .u16(0)
                  .u16(1)
                  .ints(v)
                  .i32(units)
                  .bytes(signature)
                  .frame(SecureAggregation.MASKED);
            }));
  }

  @Test
  void aSiteAddingTwoToThe31ToAValueAbandonsTheRoundNamingWhy() {
    // The attack of the review: the least weight and 2^31 on one value. With the weight in the
    // mask it moved the mean by 4e9; now the sum is range-checked and the weight is in clear.
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(6);
    Wire wire = new Wire(sites(clients, ids, Map.of()));
    tamperMaskedInput(wire, ids, "s3", v -> v[0] += 1 << 31, 1, true);

    assertThatThrownBy(
            () ->
                protocol(SecAggConfig.defaults(), ids)
                    .run(round(), instructions(clients, CONFIG), wire))
        .isInstanceOf(RoundAbandonedException.class)
        .hasMessageContaining("value 0 of the unmasked sum is")
        .hasMessageContaining("above the 393210 that 6 sites of 16-bit values can reach")
        .hasMessageContaining("a site sent values outside the shared scale");
  }

  @Test
  void theStrongestPushWithinTheScaleMovesEachMeanValueByAtMostNRPerSummedWeight() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(6);
    Wire wire = new Wire(sites(clients, ids, Map.of()));
    Quantizer q = quantizer(SecAggConfig.defaults());
    int[] honest = plainSum(clients, CONFIG, q);
    long top = 6L * ((1 << 16) - 1);
    // s3 knows the honest sum (the worst case) and fills every value to the top of the range,
    // with the least weight a site can claim.
    tamperMaskedInput(
        wire,
        ids,
        "s3",
        v -> {
          for (int i = 0; i < v.length; i++) {
            v[i] += (int) (top - Integer.toUnsignedLong(honest[i]));
          }
        },
        1,
        true);

    FitResults.Sum sum =
        (FitResults.Sum)
            protocol(SecAggConfig.defaults(), ids)
                .run(round(), instructions(clients, CONFIG), wire);

    // The weights the others signed (1,000 to 3,500 examples of 10,000, s3's 2,500 aside) and
    // s3's 1/10,000.
    double w = (1000 + 1500 + 2000 + 3000 + 3500 + 1) / 10_000.0;
    assertThat(sum.totalWeight()).isCloseTo(w, org.assertj.core.data.Offset.offset(1e-12));
    double bound = 6 * 1.0 / w;
    double[][] mean = WeightMath.toDouble(sum.meanDelta());
    double worst = 0;
    for (double[] row : mean) {
      for (double x : row) {
        worst = Math.max(worst, Math.abs(x));
      }
    }
    assertThat(worst).isLessThanOrEqualTo(bound + 1e-5).isGreaterThan(bound - 1e-3);
  }

  @Test
  void aForgedOrOutOfRangeClearWeightIsRefusedNamingTheSite() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    Wire wire = new Wire(sites(clients, ids, Map.of()));
    // s1 claims the full weight under its own signature of another; s2 and s3 sign weights
    // outside (0, 1].
    tamperMaskedInput(wire, ids, "s1", v -> {}, 10_000, false);
    tamperMaskedInput(wire, ids, "s2", v -> {}, 0, true);
    tamperMaskedInput(wire, ids, "s3", v -> {}, 10_001, true);

    SecureAggregation.Unmasked u = unmaskUnderDefaults(ids, clients, wire);

    assertThatFailures(u)
        .containsExactly(
            tuple("s1", "secagg masked input: a signature that is not site s1's"),
            tuple("s2", "secagg masked input: a weight of 0/10000, outside (0, 1]"),
            tuple("s3", "secagg masked input: a weight of 10001/10000, outside (0, 1]"));
    assertContributorsAndSumOfAllBut(u, clients, CONFIG, "s1", "s2", "s3");
    List<Client> rest =
        clients.stream().filter(c -> !Set.of("s1", "s2", "s3").contains(c.id())).toList();
    assertThat(u.weightUnits()).isEqualTo(rest.stream().mapToLong(Client::numExamples).sum());
    // Under DP-FedAvg every site weighs 1: anything else is refused too.
    assertThat(Quantizer.of(16, 1, 10_000, 0.5).weightRefusal(9_999))
        .contains("under DP-FedAvg every site weighs 1");
  }

  @Test
  void aDealerNumberingSharesOutOfOrderIsBlamedAndOnlyThoseSharesSkipped() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    // s2's neighbours in order are s0, s1, s3, …: it deals s0 the shares at x = 2 and s1 those
    // at x = 1, each committed at the x it dealt, so both holders accept them.
    SecAggSite.Tamper swap = numbering(Map.of("s0", 2, "s1", 1));
    Wire wire = new Wire(sites(clients, ids, Map.of("s2", swap)));

    SecureAggregation.Unmasked u = unmaskUnderDefaults(ids, clients, wire);

    assertThatFailures(u)
        .containsExactlyInAnyOrder(
            tuple(
                "s2",
                "secagg: dealt s0 its share of its seed numbered x = 2, not 1; that share is left"
                    + " out"),
            tuple(
                "s2",
                "secagg: dealt s1 its share of its seed numbered x = 1, not 2; that share is left"
                    + " out"));
    // s0 and s1 are not blamed, their other shares rebuild the others' seeds, and s2's seed
    // comes back from its 6 other holders: the round is whole.
    assertThat(u.contributors()).hasSize(9);
    assertThat(u.sum())
        .containsExactly(plainSum(clients, CONFIG, quantizer(SecAggConfig.defaults())));
  }

  /** A client whose update holds {@code value} at the first place of array {@code array}. */
  record Poisoned(Client inner, int array, float value) implements Client {
    @Override
    public String id() {
      return inner.id();
    }

    @Override
    public int numExamples() {
      return inner.numExamples();
    }

    @Override
    public ClientUpdate fit(Weights global, RoundConfig config) {
      ClientUpdate u = inner.fit(global, config);
      List<Weights.NamedArray> arrays = new ArrayList<>();
      for (int a = 0; a < u.weights().arrays().size(); a++) {
        Weights.NamedArray n = u.weights().arrays().get(a);
        float[] v = n.values().clone();
        if (a == array) {
          v[0] = value;
        }
        arrays.add(new Weights.NamedArray(n.name(), n.shape(), v));
      }
      return new ClientUpdate(u.clientId(), new Weights(arrays), u.numExamples(), 0.5, 0);
    }

    @Override
    public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
      return inner.evaluate(weights, config);
    }
  }

  @Test
  void sitesRefuseToSendAnUpdateThatIsNotFiniteNamingTheArray() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> honest = clients(9);
    List<Client> clients = new ArrayList<>(honest);
    clients.set(2, new Poisoned(honest.get(2), 0, Float.NaN));
    clients.set(5, new Poisoned(honest.get(5), 1, Float.POSITIVE_INFINITY));
    Wire wire = new Wire(sites(clients, ids, Map.of()));

    SecureAggregation.Unmasked u = unmaskUnderDefaults(ids, clients, wire);

    String first = GLOBAL.arrays().get(0).name();
    String second = GLOBAL.arrays().get(1).name();
    assertThatFailures(u)
        .containsExactly(
            tuple(
                "s2",
                "secagg masked input: site s2 refuses: its update array "
                    + first
                    + " holds NaN, which it cannot sum securely"),
            tuple(
                "s5",
                "secagg masked input: site s5 refuses: its update array "
                    + second
                    + " holds Infinity, which it cannot sum securely"));
    assertSumOfAllBut(u, honest, CONFIG, "s2", "s5");
  }

  @Test
  void sitesAndServersOfTheFormerVersionFailAtTheFirstStageNamingVersions() throws Exception {
    SimulatedIdentities ids = new SimulatedIdentities();
    // A version-1 server's first request, as it wrote it, to a site of this version.
    byte[] request = formerRequest("advertise-version1");
    assertThat(Frame.kind(request)).hasValue("MFS1");
    assertThatThrownBy(() -> handle(SecAggSite.of(ids.of("s0"), ids.verifier()), request))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(
            "site s0 refuses: a request of secure aggregation version 1 (kind MFS1); this site"
                + " speaks version 3");
    // And a version-2 server's, as it wrote it.
    byte[] v2 = formerRequest("advertise-version2");
    assertThat(Frame.kind(v2)).hasValue("MFT1");
    assertThatThrownBy(() -> handle(SecAggSite.of(ids.of("s0"), ids.verifier()), v2))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(
            "site s0 refuses: a request of secure aggregation version 2 (kind MFT1); this site"
                + " speaks version 3");

    // A site that knows no stage of this version (as a version-1 site does not) among 6.
    List<Client> clients = clients(6);
    List<ClientRuntime> runtimes = new ArrayList<>();
    for (Client c : clients) {
      ClientRuntime r = ClientRuntime.of(c);
      runtimes.add(
          c.id().equals("s0") ? r : r.withStages(SecAggSite.of(ids.of(c.id()), ids.verifier())));
    }
    Wire wire = new Wire(InProcessTransport.ofRuntimes(runtimes));
    SecureAggregation.Unmasked u = unmaskUnderDefaults(ids, clients, wire);
    assertThat(u.failures())
        .singleElement()
        .satisfies(
            f -> {
              assertThat(f.siteId()).isEqualTo("s0");
              assertThat(f.reason())
                  .startsWith("secagg advertise: ")
                  .contains("does not know messages of kind 'MFU1'")
                  .contains("it does not speak secure aggregation version 3");
            });
    assertThat(u.contributors()).hasSize(5);
  }

  /** A request of a former version to a site, as its server wrote it (a fuzz input). */
  private static byte[] formerRequest(String name) throws IOException {
    byte[] input =
        java.nio.file.Files.readAllBytes(
            java.nio.file.Path.of(
                "src/test/resources/io/mnistfl/fl/secagg/SecAggFuzzTestInputs/siteRequests/"
                    + name));
    return java.util.Arrays.copyOfRange(input, 1, input.length);
  }

  @Test
  void aSiteRefusesASurvivorSetWithoutItselfOrOutOfOrder() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    Wire wire = new Wire(sites(clients, ids, Map.of()));
    wire.rewriteRequests(rewritingSurvivors("s0", told -> told.remove("s0")));
    wire.rewriteRequests(rewritingSurvivors("s1", java.util.Collections::reverse));

    SecureAggregation.Unmasked u = unmaskUnderDefaults(ids, clients, wire);

    assertThatFailures(u)
        .containsExactly(
            tuple(
                "s0",
                "secagg consistency: site s0 refuses: a survivor set without itself, which sent"
                    + " its input"),
            tuple(
                "s1",
                "secagg consistency: site s1 refuses: a survivor set that is not sorted or has"
                    + " repeats"));
    // Both sent their input: it is in the sum, their seeds rebuilt by the others.
    assertThat(u.sum())
        .containsExactly(plainSum(clients, CONFIG, quantizer(SecAggConfig.defaults())));
  }
}
