package io.mnistfl.fl.secagg;

import static io.mnistfl.fl.secagg.SecAggReviewAttackTest.everyoneTold;
import static io.mnistfl.fl.secagg.SecAggReviewAttackTest.harary;
import static io.mnistfl.fl.secagg.SecAggReviewAttackTest.threshold;
import static io.mnistfl.fl.secagg.SecAggReviewAttackTest.without;
import static io.mnistfl.fl.secagg.SecureAggregationTest.GLOBAL;
import static io.mnistfl.fl.secagg.SecureAggregationTest.TRAINING;
import static io.mnistfl.fl.secagg.SecureAggregationTest.assertContributorsAndSumOfAllBut;
import static io.mnistfl.fl.secagg.SecureAggregationTest.assertThatFailures;
import static io.mnistfl.fl.secagg.SecureAggregationTest.clients;
import static io.mnistfl.fl.secagg.SecureAggregationTest.handle;
import static io.mnistfl.fl.secagg.SecureAggregationTest.idsOf;
import static io.mnistfl.fl.secagg.SecureAggregationTest.instructions;
import static io.mnistfl.fl.secagg.SecureAggregationTest.numbering;
import static io.mnistfl.fl.secagg.SecureAggregationTest.offBy;
import static io.mnistfl.fl.secagg.SecureAggregationTest.plainSum;
import static io.mnistfl.fl.secagg.SecureAggregationTest.protocol;
import static io.mnistfl.fl.secagg.SecureAggregationTest.quantizer;
import static io.mnistfl.fl.secagg.SecureAggregationTest.rewriting;
import static io.mnistfl.fl.secagg.SecureAggregationTest.rewritingShares;
import static io.mnistfl.fl.secagg.SecureAggregationTest.round;
import static io.mnistfl.fl.secagg.SecureAggregationTest.sealedShares;
import static io.mnistfl.fl.secagg.SecureAggregationTest.seeded;
import static io.mnistfl.fl.secagg.SecureAggregationTest.site;
import static io.mnistfl.fl.secagg.SecureAggregationTest.unmaskUnderDefaults;
import static io.mnistfl.fl.secagg.SecureAggregationTest.withMaskingKey;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.groups.Tuple.tuple;

import io.mnistfl.fl.Client;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.fl.SiteFailure;
import io.mnistfl.fl.aggregate.WeightMath;
import io.mnistfl.fl.secagg.SecAggReviewAttackTest.Evil;
import io.mnistfl.fl.secagg.SecureAggregationTest.AdvertiseRequest;
import io.mnistfl.fl.secagg.SecureAggregationTest.Wire;
import io.mnistfl.fl.server.RoundAbandonedException;
import io.mnistfl.fl.wire.MessageFormatException;
import io.mnistfl.fl.wire.Messages;
import io.mnistfl.model.Weights;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * The fixes of the review's findings (SecAggReviewAttackTest): each test pins the check that now
 * stops an attack, with the refusal or failure it gives, and a control where the check lets an
 * honest round through.
 */
class SecAggReviewFixesTest {
  private static final RoundConfig CONFIG = RoundConfig.of(1, TRAINING);
  private static final byte[] SESSION = new byte[16];

  // Finding 1: replayed survivor-set signatures.

  @Test
  void signaturesOfAnEarlierRunUnderTheSameSessionAndRoundDoNotCountEvenOverTheSameSet()
      throws Exception {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    List<String> all = idsOf(clients);
    Evil evil = new Evil(clients, ids);
    Map<String, List<String>> graph = harary(all, 8);
    evil.upToMaskedInput(graph, threshold(all, 5), Map.of());
    evil.consistency(everyoneTold(all, all));
    Map<String, byte[]> earlier = new TreeMap<>(evil.signatures);

    // A new run under the same session and round, every site told the same set as before.
    evil.upToMaskedInput(graph, threshold(all, 5), Map.of());
    evil.consistency(everyoneTold(all, all));
    evil.unmask("s0", without(earlier, "s0"));

    assertThat(evil.revealed).isEmpty();
    assertThat(evil.refusals.get("s0"))
        .contains("reveals nothing: 0 of its neighbours signed the survivor set it was told")
        .contains("8 signatures do not cover");
    // The signatures of this run count.
    evil.unmask("s1", without(evil.signatures, "s1"));
    assertThat(evil.revealed).containsOnlyKeys("s1");
  }

  @Test
  void onlyTheSignaturesOfNeighboursWhoseSharesASiteHoldsCount() throws Exception {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    List<String> all = idsOf(clients);
    Evil evil = new Evil(clients, ids);
    // s0 is sent the shares of five of its eight neighbours only.
    Set<String> held = Set.of("s1", "s2", "s3", "s4", "s5");
    evil.upToMaskedInput(harary(all, 8), threshold(all, 5), Map.of("s0", held));
    evil.consistency(everyoneTold(all, all));
    // Genuine signatures of this run over the set it signed: two of holders, three of others.
    Map<String, byte[]> forwarded = new TreeMap<>();
    for (String v : List.of("s1", "s2", "s6", "s7", "s8")) {
      forwarded.put(v, evil.signatures.get(v));
    }
    evil.unmask("s0", forwarded);

    assertThat(evil.revealed).isEmpty();
    assertThat(evil.refusals.get("s0"))
        .contains("reveals nothing: 2 of its neighbours signed the survivor set it was told")
        .contains("3 signatures do not cover");
  }

  // Finding 2: one scale, one t and one global model for a site and its neighbours.

  /** An advertisement request of round 1 with the given scale and global-weights digest. */
  private static byte[] advertise(
      String site, List<String> neighbours, int t, double clip, byte[] global) {
    AdvertiseRequest request = new AdvertiseRequest(SESSION, site, neighbours, t);
    request.clipRange = clip;
    request.trainedFrom = global;
    return request.frame();
  }

  /** Three sites advertised, each with its own request; returns their advertisements by site. */
  private static Map<String, byte[]> advertised(
      Map<String, SecAggSite> sites, Map<String, byte[]> requests) throws IOException {
    Map<String, byte[]> out = new TreeMap<>();
    for (Map.Entry<String, byte[]> e : requests.entrySet()) {
      out.put(e.getKey(), handle(sites.get(e.getKey()), e.getValue()));
    }
    return out;
  }

  private static Map<String, SecAggSite> threeSites(SimulatedIdentities ids) {
    Map<String, SecAggSite> sites = new TreeMap<>();
    for (String s : List.of("s0", "s1", "s2")) {
      sites.put(s, site(ids, s));
    }
    return sites;
  }

  /** The share request for {@code site} carrying {@code adverts}, as they were answered. */
  private static byte[] shareRequest(String site, List<byte[]> adverts)
      throws MessageFormatException {
    Body.Writer w = new Body.Writer().fixed(SESSION).i32(1).string(site).u16(adverts.size());
    for (byte[] a : adverts) {
      Advertisement.read(new Body.Reader(a, Advertisement.KIND, "test")).write(w);
    }
    return w.frame(SecureAggregation.SHARE);
  }

  private static List<String> others(String site) {
    return List.of("s0", "s1", "s2").stream().filter(s -> !s.equals(site)).toList();
  }

  private static Weights shifted(Weights w) {
    double[][] v = WeightMath.toDouble(w);
    v[0][0] += 0.25;
    return WeightMath.withValues(w, v);
  }

  @Test
  void aSiteRefusesANeighbourAdvertisingAnotherScaleOrOtherGlobalWeights() throws Exception {
    SimulatedIdentities ids = new SimulatedIdentities();
    byte[] global = SecureAggregation.trainedFrom(GLOBAL);
    byte[] other = SecureAggregation.trainedFrom(shifted(GLOBAL));
    assertThat(other).isNotEqualTo(global);
    for (Object[] odd : new Object[][] {{1e30, global}, {1.0, other}}) {
      Map<String, SecAggSite> sites = threeSites(ids);
      Map<String, byte[]> requests = new TreeMap<>();
      for (String s : sites.keySet()) {
        requests.put(
            s,
            s.equals("s1")
                ? advertise(s, others(s), 2, (double) odd[0], (byte[]) odd[1])
                : advertise(s, others(s), 2, 1.0, global));
      }
      Map<String, byte[]> adverts = advertised(sites, requests);

      assertThatThrownBy(
              () ->
                  handle(
                      sites.get("s0"),
                      shareRequest("s0", List.of(adverts.get("s1"), adverts.get("s2")))))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("site s0 refuses: an advertisement of s1 with other parameters")
          .hasMessageContaining("the server gave its neighbours different thresholds or scales");
    }
  }

  @Test
  void aSiteRefusesAFitRequestFromOtherGlobalWeightsThanItAdvertised() throws Exception {
    // The model inconsistency attack of Pasquini et al.: the server advertised one global model to
    // s0 and its neighbours, and sends s0 another to train from.
    SimulatedIdentities ids = new SimulatedIdentities();
    Map<String, SecAggSite> sites = threeSites(ids);
    Map<String, byte[]> requests = new TreeMap<>();
    for (String s : sites.keySet()) {
      requests.put(s, advertise(s, others(s), 2, 1.0, SecureAggregation.trainedFrom(GLOBAL)));
    }
    Map<String, byte[]> adverts = advertised(sites, requests);
    Map<String, byte[]> shares = new TreeMap<>();
    for (String s : sites.keySet()) {
      shares.put(
          s, handle(sites.get(s), shareRequest(s, others(s).stream().map(adverts::get).toList())));
    }
    for (Weights global : List.of(shifted(GLOBAL), GLOBAL)) {
      Body.Writer mask = new Body.Writer().fixed(SESSION).i32(1).string("s0").u16(2);
      for (String dealer : List.of("s1", "s2")) {
        mask.string(dealer).bytes(sealedShares(shares.get(dealer)).get("s0"));
      }
      byte[] request = mask.bytes(Messages.encodeFit(CONFIG, global)).frame(SecureAggregation.MASK);
      if (global == GLOBAL) {
        // The site is still where it was: the right request is answered.
        assertThat(handle(sites.get("s0"), request)).isNotEmpty();
      } else {
        assertThatThrownBy(() -> handle(sites.get("s0"), request))
            .isInstanceOf(IOException.class)
            .hasMessageContaining(
                "site s0 refuses: a fit request whose global weights are not the ones it"
                    + " advertised");
      }
    }
  }

  // Finding 3: the graph is the server's; the site bounds its k from below.

  @Test
  void aSiteWhoseNeighbourhoodIsTooSmallForTheSetItSignedRevealsNothing() throws Exception {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(6);
    List<String> all = idsOf(clients);
    // A ring: k = 2, t = 2, every check of the former version passes.
    Evil ring = new Evil(clients, ids);
    Map<String, List<String>> small = harary(all, 2);
    ring.upToMaskedInput(small, threshold(all, 2), Map.of());
    ring.consistency(everyoneTold(all, all));
    assertThat(ring.refusals).isEmpty();
    // Both of its neighbours signed the very set it signed, in this run.
    Map<String, byte[]> forwarded = new TreeMap<>();
    small.get("s0").forEach(v -> forwarded.put(v, ring.signatures.get(v)));
    assertThat(forwarded).hasSize(2).doesNotContainValue(null);
    ring.unmask("s0", forwarded);
    assertThat(ring.revealed).isEmpty();
    assertThat(ring.refusals.get("s0"))
        .contains(
            "reveals nothing: it has 2 neighbours, and a round of 6 sites that sent their input"
                + " calls for at least 5");

    // The same sites on the complete graph (k = 5, t = 3) reveal.
    Map<String, List<String>> complete = new TreeMap<>();
    all.forEach(s -> complete.put(s, all.stream().filter(v -> !v.equals(s)).toList()));
    Evil full = new Evil(clients, ids);
    full.upToMaskedInput(complete, threshold(all, 3), Map.of());
    full.consistency(everyoneTold(all, all));
    full.unmask("s0", without(full.signatures, "s0"));
    assertThat(full.refusals).isEmpty();
    assertThat(full.revealed).containsOnlyKeys("s0");
  }

  @Test
  void theServerAbandonsARoundWhoseNeighbourhoodsTheSitesWouldRefuse() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(6);
    Wire wire = new Wire(SecureAggregationTest.sites(clients, ids, Map.of()));
    assertThatThrownBy(
            () ->
                protocol(SecAggConfig.defaults().withNeighbourhood(2, 2), ids)
                    .unmask(round(), instructions(clients, CONFIG), wire))
        .isInstanceOf(RoundAbandonedException.class)
        .hasMessageContaining(
            "2 neighbours for 6 sites: a site reveals nothing with fewer than min(n - 1, 2"
                + " ceil(log2 n)) = 5");
    assertThat(wire.stages).isEmpty();
    assertThat(SecAggConfig.minNeighbours(100)).isEqualTo(14);
    assertThat(SecAggConfig.minNeighbours(9)).isEqualTo(8);
    assertThat(SecAggConfig.minNeighbours(3)).isEqualTo(2);
    for (int n = 3; n < 2000; n++) {
      assertThat(SecAggConfig.defaults().neighboursFor(n))
          .as("the default k for %d sites", n)
          .isGreaterThanOrEqualTo(SecAggConfig.minNeighbours(n));
    }
  }

  // Finding 4: distinct keys, and a rebuilt mask key that is the advertised one.

  /** X.509 for an X25519 public key of u (little-endian). */
  private static final byte[] X25519_PREFIX = HexFormat.of().parseHex("302a300506032b656e032100");

  private static final BigInteger P25519 = BigInteger.TWO.pow(255).subtract(BigInteger.valueOf(19));

  /** The encoding of the key u⁻¹ mod p: P plus the point of order 2, which X25519 cannot tell. */
  private static byte[] twin(byte[] encoded) {
    byte[] le = Arrays.copyOfRange(encoded, encoded.length - 32, encoded.length);
    byte[] be = new byte[32];
    for (int i = 0; i < 32; i++) {
      be[i] = le[31 - i];
    }
    BigInteger inverse = new BigInteger(1, be).modInverse(P25519);
    byte[] raw = Shamir.bytes(inverse);
    byte[] out = Arrays.copyOf(X25519_PREFIX, X25519_PREFIX.length + 32);
    for (int i = 0; i < 32; i++) {
      out[X25519_PREFIX.length + i] = raw[raw.length - 1 - i];
    }
    return out;
  }

  @Test
  void aSiteRefusesANeighbourWhoseKeyAgreesAsAnothersDoesCopiedOrTwinned() throws Exception {
    SimulatedIdentities ids = new SimulatedIdentities();
    byte[] global = SecureAggregation.trainedFrom(GLOBAL);
    KeyPair probe = Crypto.x25519(seeded(3));
    for (String copied : List.of("s0", "s1")) {
      for (boolean twinned : new boolean[] {false, true}) {
        Map<String, SecAggSite> sites = threeSites(ids);
        Map<String, byte[]> requests = new TreeMap<>();
        sites.keySet().forEach(s -> requests.put(s, advertise(s, others(s), 2, 1.0, global)));
        Map<String, byte[]> adverts = advertised(sites, requests);
        Advertisement victim =
            Advertisement.read(new Body.Reader(adverts.get(copied), Advertisement.KIND, "test"));
        byte[] key = twinned ? twin(victim.maskingKey()) : victim.maskingKey();
        if (twinned) {
          // Another encoding, the same agreements.
          assertThat(key).isNotEqualTo(victim.maskingKey());
          assertThat(Crypto.fingerprint(probe.getPrivate(), Crypto.publicKey(key)))
              .isEqualTo(
                  Crypto.fingerprint(probe.getPrivate(), Crypto.publicKey(victim.maskingKey())));
        }
        // The colluder s2 advertises the victim's mask key as its own.
        byte[] forged =
            withMaskingKey(
                ids,
                SESSION,
                Advertisement.read(new Body.Reader(adverts.get("s2"), Advertisement.KIND, "test")),
                key);

        Throwable refusal =
            catchThrowable(
                () ->
                    handle(
                        sites.get("s1"),
                        shareRequest(
                            "s1",
                            copied.equals("s0")
                                ? List.of(adverts.get("s0"), forged)
                                : List.of(forged))));

        assertThat(refusal)
            .as("%s's key copied (twinned: %s)", copied, twinned)
            .isInstanceOf(IOException.class)
            .hasMessageContaining(
                copied.equals("s0")
                    ? "site s1 refuses: s2 and s0 advertised keys that agree alike"
                    : "site s1 refuses: s2 advertised a key that agrees as one of its own does");
      }
    }
  }

  @Test
  void theServerLeavesOutEverySiteAdvertisingAKeyThatAgreesAsAnothersDoes() throws Exception {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    Wire wire = new Wire(SecureAggregationTest.sites(clients, ids, Map.of()));
    Map<String, Advertisement> adverts = new TreeMap<>();
    wire.answers =
        (site, bytes) -> {
          if (!io.mnistfl.fl.wire.Frame.kind(bytes).orElseThrow().equals(Advertisement.KIND)) {
            return bytes;
          }
          try {
            Advertisement ad = Advertisement.read(new Body.Reader(bytes, Advertisement.KIND, "t"));
            adverts.put(site, ad);
            // s5 twins s0's mask key (a copy no byte comparison sees).
            return site.equals("s5")
                ? withMaskingKey(ids, wire.session, ad, twin(adverts.get("s0").maskingKey()))
                : bytes;
          } catch (GeneralSecurityException | MessageFormatException e) {
            throw new AssertionError(e);
          }
        };

    SecureAggregation.Unmasked u = unmaskUnderDefaults(ids, clients, wire);

    assertThatFailures(u)
        .containsExactly(
            tuple(
                "s0",
                "secagg advertise: a key that agrees as a key of s5 does: a copied key would"
                    + " cancel the pair masks of the sites between them, so every site"
                    + " advertising it is left out"),
            tuple(
                "s5",
                "secagg advertise: a key that agrees as a key of s0 does: a copied key would"
                    + " cancel the pair masks of the sites between them, so every site"
                    + " advertising it is left out"));
    assertContributorsAndSumOfAllBut(u, clients, CONFIG, "s0", "s5");
  }

  @Test
  void aDroppedSiteWhoseSharedKeyIsNotItsAdvertisedOneIsNamedAndTheRoundAbandoned()
      throws Exception {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    Wire wire =
        new Wire(SecureAggregationTest.sites(clients, ids, Map.of()))
            .vanish(SecureAggregation.MASK, "s3");
    byte[] stranger = Crypto.x25519(seeded(11)).getPublic().getEncoded();
    // s3 advertises a mask key it does not hold, and deals shares of the one it does.
    wire.answers =
        (site, bytes) -> {
          if (!site.equals("s3")
              || !io.mnistfl.fl.wire.Frame.kind(bytes).orElseThrow().equals(Advertisement.KIND)) {
            return bytes;
          }
          try {
            return withMaskingKey(
                ids,
                wire.session,
                Advertisement.read(new Body.Reader(bytes, Advertisement.KIND, "t")),
                stranger);
          } catch (GeneralSecurityException | MessageFormatException e) {
            throw new AssertionError(e);
          }
        };

    assertThatThrownBy(() -> unmaskUnderDefaults(ids, clients, wire))
        .isInstanceOfSatisfying(
            RoundAbandonedException.class,
            e -> {
              assertThat(e)
                  .hasMessageContaining(
                      "the mask key of s3 its shares rebuild is not the one it advertised");
              assertThat(e.failures())
                  .filteredOn(f -> f.reason().contains("not the private key"))
                  .extracting(SiteFailure::siteId)
                  .containsExactly("s3");
            });
  }

  // Finding 5: rebuilding from every t-subset, and naming only the shares off the right polynomial.

  @Test
  void twoBadSharesAreNamedAndTheSecretRebuiltWhetherOrNotTheirErrorsCancel() {
    // n = 9, k = 8, t = 5: s2's shares at x = 1 (s0) and x = 5 (s5) are off. With +1 and +1 the
    // errors cancel at 0 in the subset {1, 2, 4, 5, 6}, whose polynomial the three honest holders
    // left out are off: the polynomial most shares lie on is taken, not the first that fits.
    for (Map<String, BigInteger> off :
        List.of(
            Map.of("s0", BigInteger.ONE, "s5", BigInteger.TWO.pow(100).add(BigInteger.TEN)),
            Map.of("s0", BigInteger.ONE, "s5", BigInteger.ONE))) {
      SimulatedIdentities ids = new SimulatedIdentities();
      List<Client> clients = clients(9);
      Wire wire = new Wire(SecureAggregationTest.sites(clients, ids, Map.of("s2", offBy(off))));

      SecureAggregation.Unmasked u = unmaskUnderDefaults(ids, clients, wire);

      assertThatFailures(u)
          .containsExactly(
              tuple(
                  "s2", "secagg: dealt s0, s5 shares of its seed that do not fit its commitment"));
      assertThat(u.sum())
          .containsExactly(plainSum(clients, CONFIG, quantizer(SecAggConfig.defaults())));
    }
  }

  @Test
  void everyTSubsetIsTriedUpTo4096OfThem() {
    assertThat(ServerRound.subsets(8, 5)).isEqualTo(56);
    assertThat(ServerRound.subsets(14, 8)).isEqualTo(3003);
    assertThat(ServerRound.subsets(20, 11)).isGreaterThan(ServerRound.MAX_SUBSETS);
    assertThat(ServerRound.subsets(256, 129)).isGreaterThan(ServerRound.MAX_SUBSETS);
    List<Integer> xs = List.of(1, 2, 3, 5, 8, 13, 21, 34);
    List<List<Integer>> all = new ArrayList<>();
    ServerRound.allSubsets(xs, 5).forEach(all::add);
    assertThat(all).hasSize(56).doesNotHaveDuplicates();
    assertThat(all)
        .allSatisfy(
            s -> assertThat(s).hasSize(5).isSorted().isSubsetOf(xs).doesNotHaveDuplicates());
  }

  // Finding 6: a dealer's bad share is filed under the dealer, proven with the holder's key.

  /** The key with which {@code holder}'s site opens the shares {@code dealer} sealed for it. */
  private static byte[] openingKey(SecAggSite site, String dealer)
      throws ReflectiveOperationException {
    Field stateField = SecAggSite.class.getDeclaredField("state");
    stateField.setAccessible(true);
    Object state = stateField.get(site);
    Field peersField = state.getClass().getDeclaredField("peers");
    peersField.setAccessible(true);
    Object peer = ((Map<?, ?>) peersField.get(state)).get(dealer);
    Method openFrom = peer.getClass().getDeclaredMethod("openFrom");
    openFrom.setAccessible(true);
    return (byte[]) openFrom.invoke(peer);
  }

  /** s0's masked input with a complaint about {@code dealer}'s shares, with {@code key}. */
  private static BiFunction<String, byte[], byte[]> complaining(String dealer, byte[] key) {
    return rewriting(
        "s0",
        SecureAggregation.MASKED,
        r -> {
          Body.Writer w = new Body.Writer().string(r.string());
          assertThat(r.u16()).isZero();
          w.u16(1).string(dealer).bytes(key).u16(r.u16());
          w.ints(r.ints((int) GLOBAL.scalarCount())).i32(r.i32()).bytes(r.bytes(512));
          return w.frame(SecureAggregation.MASKED);
        });
  }

  @Test
  void aDealerProvenBadByItsHoldersKeyIsLeftOutAndTheHolderStays() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    // s2 deals s0 its shares at x = 2, s1's place, where its commitment names s1.
    SecAggSite.Tamper collide = numbering(Map.of("s0", 2));
    Wire wire = new Wire(SecureAggregationTest.sites(clients, ids, Map.of("s2", collide)));

    SecureAggregation.Unmasked u = unmaskUnderDefaults(ids, clients, wire);

    assertThatFailures(u)
        .containsExactly(
            tuple(
                "s2",
                "secagg: dealt shares that are not the ones it committed to (s0: s2 dealt it a"
                    + " share of its seed at x = 2 that does not match its signed commitment,"
                    + " proven with the holder's key); its input is left out"));
    assertContributorsAndSumOfAllBut(u, clients, CONFIG, "s2");
  }

  @Test
  void aHolderBlamingAnHonestDealerIsLeftOutWhateverKeyItHandsOver() {
    for (boolean genuine : new boolean[] {false, true}) {
      SimulatedIdentities ids = new SimulatedIdentities();
      List<Client> clients = clients(9);
      Map<String, SecAggSite> sites = new TreeMap<>();
      Wire wire = new Wire(SecureAggregationTest.sites(clients, ids, Map.of(), sites));
      wire.answers =
          (site, bytes) -> {
            if (!site.equals("s0")
                || !io.mnistfl.fl.wire.Frame.kind(bytes)
                    .orElseThrow()
                    .equals(SecureAggregation.MASKED)) {
              return bytes;
            }
            byte[] key = new byte[32];
            if (genuine) {
              try {
                key = openingKey(sites.get("s0"), "s1");
              } catch (ReflectiveOperationException e) {
                throw new AssertionError(e);
              }
            }
            return complaining("s1", key).apply(site, bytes);
          };

      SecureAggregation.Unmasked u = unmaskUnderDefaults(ids, clients, wire);

      assertThatFailures(u)
          .containsExactly(
              tuple(
                  "s0",
                  genuine
                      ? "secagg masked input: it refused the shares of s1, which fit their"
                          + " commitments; left out"
                      : "secagg masked input: it refused the shares of s1 with a key that does not"
                          + " open them, which proves nothing; left out"));
      assertContributorsAndSumOfAllBut(u, clients, CONFIG, "s0");
    }
  }

  @Test
  void sharesThatDoNotOpenEvictTheirHolderAndNameBoth() {
    SimulatedIdentities ids = new SimulatedIdentities();
    List<Client> clients = clients(9);
    Wire wire = new Wire(SecureAggregationTest.sites(clients, ids, Map.of()));
    // s2 seals garbage for s0 (or the wire spoils it): nobody but the two can tell which.
    wire.answers =
        rewritingShares(
            "s2",
            byHolder -> {
              byte[] forS0 = byHolder.get("s0");
              forS0[forS0.length - 1] ^= 1;
            });

    SecureAggregation.Unmasked u = unmaskUnderDefaults(ids, clients, wire);

    assertThatFailures(u)
        .containsExactlyInAnyOrder(
            tuple(
                "s2",
                "secagg: s0 could not open the shares it dealt it and left the round (the dealer"
                    + " or that holder is at fault)"),
            tuple("s0", "secagg masked input: sent no input, refusing the shares of s2"));
    assertContributorsAndSumOfAllBut(u, clients, CONFIG, "s0");
  }
}
