package io.mnistfl.fl.secagg;

import io.mnistfl.fl.FitProtocol;
import io.mnistfl.fl.FitResults;
import io.mnistfl.fl.RoundAbandonedException;
import io.mnistfl.fl.RoundContext;
import io.mnistfl.fl.SiteExchange;
import io.mnistfl.fl.SiteFailure;
import io.mnistfl.fl.SiteInstruction;
import io.mnistfl.fl.wire.MessageFormatException;
import io.mnistfl.fl.wire.Messages;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * Secure aggregation, SecAgg+ (Bell et al. 2020, after Bonawitz et al. 2017), as a {@link
 * FitProtocol}: the server learns the sum of the sites' updates and nothing of any one of them.
 *
 * <p>Four stages over the federation's exchange, so it runs over every transport. (1) Each site
 * advertises two fresh X25519 public keys, commitments to its self-mask seed and mask key, all
 * signed with its long-term identity. (2) Each site splits the seed and the mask key into
 * Shamir shares (t of k) and sends each of its k neighbours in a random k-regular graph its
 * share, signed and encrypted with AES-GCM under a key agreed with that neighbour. (3) Each site
 * trains, weighs its update by its example count (capped), clips and quantizes it to b-bit
 * integers with a scale all sites share, and sends it masked: plus a mask expanded from its
 * seed, plus or minus a mask agreed with each neighbour, all modulo 2^32. (4) Sites still present
 * reveal the seed shares of the sites that sent their input and the mask-key shares of those
 * that dropped after sharing; the server rebuilds and removes the masks, checking every rebuilt
 * secret against its commitment. Fewer than t shares of a needed secret abandon the round.
 *
 * <p>The server's side of this class handles masked vectors and their sum only: the one vector it
 * ever unmasks is the sum.
 */
public final class SecureAggregation implements FitProtocol {
  static final String ADVERTISE = "MFS1";
  static final String SHARE = "MFS2";
  static final String SHARES = "MFA2";
  static final String MASK = "MFS3";
  static final String MASKED = "MFA3";
  static final String UNMASK = "MFS4";
  static final String REVEALED = "MFA4";

  private final SecAggConfig config;
  private final Optional<IdentityVerifier> verifier;
  private final SecureRandom random;

  private SecureAggregation(SecAggConfig config, Optional<IdentityVerifier> verifier,
      SecureRandom random) {
    this.config = config;
    this.verifier = verifier;
    this.random = random;
  }

  /**
   * Secure aggregation with {@code config}; the sites check each other's signatures, and with
   * {@link #withVerifier} the server does too and can name a site that sent inconsistent shares.
   *
   * @param config k, t, bits, clip range and example cap
   * @return the protocol
   */
  public static SecureAggregation of(SecAggConfig config) {
    return new SecureAggregation(Objects.requireNonNull(config, "config"), Optional.empty(),
        new SecureRandom());
  }

  /**
   * This protocol, checking the sites' signatures on the server too.
   *
   * @param value the verifier of the federation's identities
   * @return the protocol
   */
  public SecureAggregation withVerifier(IdentityVerifier value) {
    return new SecureAggregation(config, Optional.of(value), random);
  }

  /** This protocol drawing sessions and graphs from {@code value}; tests seed it. */
  SecureAggregation withRandom(SecureRandom value) {
    return new SecureAggregation(config, verifier, value);
  }

  @Override
  public boolean yieldsSums() {
    return true;
  }

  @Override
  public Map<String, String> parameters() {
    Map<String, String> p = new LinkedHashMap<>();
    p.put("secureAggregation", "SecAgg+");
    p.put("neighbours", config.neighbours() == 0 ? "2*ceil(log2 n)"
        : String.valueOf(config.neighbours()));
    p.put("threshold", config.threshold() == 0 ? "ceil(k/2)"
        : String.valueOf(config.threshold()));
    p.put("bits", String.valueOf(config.bits()));
    p.put("clipRange", String.valueOf(config.clipRange()));
    p.put("exampleCap", String.valueOf(config.exampleCap()));
    return p;
  }

  @Override
  public String toString() {
    return "secure aggregation (SecAgg+)";
  }

  @Override
  public FitResults run(RoundContext round, List<SiteInstruction> instructions,
      SiteExchange exchange) {
    Unmasked u = unmask(round, instructions, exchange);
    double totalWeight = u.quantizer().totalWeight(u.sum());
    if (!(totalWeight > 0)) {
      throw new RoundAbandonedException("the sites' weights sum to 0", u.failures());
    }
    return new FitResults.Sum(u.quantizer().deltaSum(u.sum(), u.contributors().size(),
        round.global()), totalWeight, u.contributors().size(), u.failures());
  }

  /**
   * The unmasked sum of a round's quantized values, as integers modulo 2^32, the sites it
   * holds, the sites left out and the scale to read it with.
   */
  record Unmasked(int[] sum, List<String> contributors, List<SiteFailure> failures,
      Quantizer quantizer) {}

  /** Runs the four stages; the one vector it unmasks is the sum. */
  Unmasked unmask(RoundContext round, List<SiteInstruction> instructions,
      SiteExchange exchange) {
    List<SiteFailure> failures = new ArrayList<>();
    Map<String, SiteInstruction> byId = new TreeMap<>();
    instructions.forEach(i -> byId.put(i.siteId(), i));
    List<String> sites = new ArrayList<>(byId.keySet());
    int n = sites.size();
    int k = config.neighboursFor(n);
    int t = config.thresholdFor(k);
    if (n < 2 || t > k) {
      throw new RoundAbandonedException(n + " site" + (n == 1 ? "" : "s") + " sampled, secure"
          + " aggregation needs at least " + (t + 1), failures);
    }
    String overflow = config.overflow(n);
    if (!overflow.isEmpty()) {
      throw new RoundAbandonedException(overflow, failures);
    }
    List<Double> clipNorms = instructions.stream()
        .map(i -> i.config().clipNorm().orElse(Double.NaN)).distinct().toList();
    if (clipNorms.size() > 1) {
      throw new RoundAbandonedException("secure aggregation needs one clip norm for all sites,"
          + " the instructions hold " + clipNorms, failures);
    }
    double clipNorm = clipNorms.get(0);
    Quantizer quantizer = Quantizer.of(config.bits(), config.clipRange(), config.exampleCap(),
        clipNorm);
    Map<String, List<String>> graph = neighbourGraph(sites, k);
    byte[] session = new byte[16];
    random.nextBytes(session);
    int roundNo = round.round();

    // 1. Advertise keys.
    Map<String, byte[]> requests = new LinkedHashMap<>();
    for (String u : sites) {
      requests.put(u, new Body.Writer().fixed(session).i32(roundNo).string(u).u16(t)
          .i32(config.bits()).f64(config.clipRange()).i32(config.exampleCap()).f64(clipNorm)
          .strings(graph.get(u)).frame(ADVERTISE));
    }
    SiteExchange.Replies replies = exchange.send("secagg advertise", requests);
    failures.addAll(replies.failures());
    Map<String, Advertisement> adverts = new TreeMap<>();
    for (Map.Entry<String, byte[]> a : replies.answers().entrySet()) {
      try {
        Body.Reader r = new Body.Reader(a.getValue(), Advertisement.KIND, "advertisement");
        Advertisement ad = Advertisement.read(r);
        r.end();
        if (!ad.siteId().equals(a.getKey())) {
          throw new GeneralSecurityException("advertised as " + ad.siteId());
        }
        if (verifier.isPresent()) {
          verifier.get().verify(ad.siteId(), ad.credential(), ad.signed(session, roundNo),
              ad.signature());
        }
        adverts.put(a.getKey(), ad);
      } catch (MessageFormatException | GeneralSecurityException e) {
        failures.add(new SiteFailure(a.getKey(), "secagg advertise: " + e.getMessage()));
      }
    }

    // 2. Share keys: each site gets its neighbours' advertisements, returns sealed shares.
    requests.clear();
    for (String u : adverts.keySet()) {
      List<String> mine = graph.get(u).stream().filter(adverts::containsKey).toList();
      if (mine.size() < t) {
        failures.add(new SiteFailure(u, "secagg: " + mine.size() + " of its neighbours"
            + " advertised keys, the threshold is " + t));
        continue;
      }
      Body.Writer w = new Body.Writer().fixed(session).i32(roundNo).string(u).u16(mine.size());
      mine.forEach(v -> adverts.get(v).write(w));
      requests.put(u, w.frame(SHARE));
    }
    replies = exchange.send("secagg share keys", requests);
    failures.addAll(replies.failures());
    Map<String, Map<String, byte[]>> sealedFor = new TreeMap<>();
    for (Map.Entry<String, byte[]> a : replies.answers().entrySet()) {
      String u = a.getKey();
      try {
        Body.Reader r = new Body.Reader(a.getValue(), SHARES, "shares");
        if (!r.string().equals(u)) {
          throw new MessageFormatException("shares sent as another site");
        }
        int count = r.u16();
        Map<String, byte[]> sealed = new TreeMap<>();
        for (int i = 0; i < count; i++) {
          String holder = r.string();
          byte[] ciphertext = r.bytes(1024);
          if (!graph.get(u).contains(holder) || !adverts.containsKey(holder)) {
            throw new MessageFormatException("a share for " + holder + ", not a neighbour");
          }
          sealed.put(holder, ciphertext);
        }
        r.end();
        sealed.forEach((holder, ct) -> sealedFor.computeIfAbsent(holder, h -> new TreeMap<>())
            .put(u, ct));
      } catch (MessageFormatException e) {
        failures.add(new SiteFailure(u, "secagg share keys: " + e.getMessage()));
        sealedFor.values().forEach(m -> m.remove(u));
      }
    }
    List<String> shared = replies.answers().keySet().stream()
        .filter(u -> failures.stream().noneMatch(f -> f.siteId().equals(u)
            && f.reason().startsWith("secagg share keys"))).toList();

    // 3. Masked input: each site gets the shares addressed to it, trains and masks.
    requests.clear();
    Map<String, List<String>> maskPeers = new TreeMap<>();
    Map<Object, byte[]> fitRequests = new java.util.HashMap<>();
    for (String u : shared) {
      Map<String, byte[]> toMe = new TreeMap<>(sealedFor.getOrDefault(u, Map.of()));
      toMe.keySet().retainAll(shared);
      if (toMe.size() < t) {
        failures.add(new SiteFailure(u, "secagg: shares from " + toMe.size() + " neighbours,"
            + " the threshold is " + t));
        continue;
      }
      maskPeers.put(u, List.copyOf(toMe.keySet()));
      byte[] fit = fitRequests.computeIfAbsent(byId.get(u).config(),
          c -> Messages.encodeFit(byId.get(u).config(), round.global()));
      Body.Writer w = new Body.Writer().fixed(session).i32(roundNo).string(u).u16(toMe.size());
      toMe.forEach((sharer, ct) -> w.string(sharer).bytes(ct));
      requests.put(u, w.bytes(fit).frame(MASK));
    }
    replies = exchange.send("secagg masked input", requests);
    failures.addAll(replies.failures());
    int d = (int) round.global().scalarCount();
    int[] sum = new int[d + 1];
    List<String> survivors = new ArrayList<>();
    for (Map.Entry<String, byte[]> a : replies.answers().entrySet()) {
      try {
        Body.Reader r = new Body.Reader(a.getValue(), MASKED, "masked input");
        if (!r.string().equals(a.getKey())) {
          throw new MessageFormatException("masked input sent as another site");
        }
        int[] masked = r.ints(d + 1);
        r.end();
        for (int i = 0; i < masked.length; i++) {
          sum[i] += masked[i];
        }
        survivors.add(a.getKey());
      } catch (MessageFormatException e) {
        failures.add(new SiteFailure(a.getKey(), "secagg masked input: " + e.getMessage()));
      }
    }
    if (survivors.isEmpty()) {
      throw new RoundAbandonedException("no site sent its masked input", failures);
    }
    Set<String> survived = new HashSet<>(survivors);
    // Every site that shared its keys may be a mask peer of a survivor, sent input or not.
    List<String> dropped = shared.stream().filter(u -> !survived.contains(u)).toList();

    // 4. Unmask: seed shares of the survivors, mask-key shares of the dropped.
    requests.clear();
    for (String u : survivors) {
      List<String> peers = maskPeers.get(u);
      requests.put(u, new Body.Writer().fixed(session).i32(roundNo).string(u)
          .strings(peers.stream().filter(survived::contains).toList())
          .strings(peers.stream().filter(dropped::contains).toList()).frame(UNMASK));
    }
    replies = exchange.send("secagg unmask", requests);
    failures.addAll(replies.failures());
    Map<String, Map<Integer, Revealed>> seeds = new TreeMap<>();
    Map<String, Map<Integer, Revealed>> keys = new TreeMap<>();
    for (Map.Entry<String, byte[]> a : replies.answers().entrySet()) {
      String holder = a.getKey();
      try {
        Body.Reader r = new Body.Reader(a.getValue(), REVEALED, "revealed shares");
        if (!r.string().equals(holder)) {
          throw new MessageFormatException("shares revealed as another site");
        }
        int count = r.u16();
        Map<String, Revealed> mine = new TreeMap<>();
        for (int i = 0; i < count; i++) {
          String owner = r.string();
          int kind = r.u16();
          int x = r.u16();
          byte[] share = r.fixed(Shamir.SHARE_BYTES);
          byte[] signature = r.bytes(512);
          if (!maskPeers.get(holder).contains(owner) || mine.containsKey(owner)) {
            throw new MessageFormatException("a share of " + owner + ", not a peer or a repeat");
          }
          if (kind != (survived.contains(owner) ? 0 : 1)
              || x != graph.get(owner).indexOf(holder) + 1) {
            throw new MessageFormatException("a share of " + owner + " of kind " + kind
                + " at x = " + x + ", not the one asked for");
          }
          mine.put(owner, new Revealed(holder, x, share, signature));
        }
        r.end();
        mine.forEach((owner, revealed) -> (survived.contains(owner) ? seeds : keys)
            .computeIfAbsent(owner, o -> new TreeMap<>()).put(revealed.x(), revealed));
      } catch (MessageFormatException e) {
        failures.add(new SiteFailure(holder, "secagg unmask: " + e.getMessage()));
      }
    }
    try {
      for (String v : survivors) {
        byte[] seed = rebuild(v, seeds.getOrDefault(v, Map.of()), t, session, "seed",
            adverts.get(v).seedCommitment(), adverts.get(v), failures);
        Crypto.mask(sum, seed, SecAggSite.SELF_MASK, -1);
      }
      for (String v : dropped) {
        List<String> affected = survivors.stream().filter(u -> maskPeers.get(u).contains(v))
            .toList();
        if (affected.isEmpty()) {
          continue;
        }
        byte[] scalar = rebuild(v, keys.getOrDefault(v, Map.of()), t, session, "mask key",
            adverts.get(v).keyCommitment(), adverts.get(v), failures);
        PrivateKey key = Crypto.privateKey(scalar);
        for (String u : affected) {
          byte[] pair = Crypto.agree(key, Crypto.publicKey(adverts.get(u).maskingKey()), session,
              SecAggSite.PAIR_AGREEMENT);
          // u added the pair's mask if u < v and subtracted it otherwise: undo that.
          Crypto.mask(sum, pair, SecAggSite.PAIR_MASK, u.compareTo(v) < 0 ? -1 : 1);
        }
      }
    } catch (GeneralSecurityException e) {
      throw new RoundAbandonedException("cannot remove the masks: " + e.getMessage(), failures);
    }
    return new Unmasked(sum, List.copyOf(survivors), failures, quantizer);
  }

  /** A revealed share: who held it, its value, and its sharer's signature. */
  private record Revealed(String holder, int x, byte[] share, byte[] signature) {}

  /**
   * The secret of {@code owner} from its revealed shares, checked against its commitment. Every
   * share is then checked against the polynomial the secret came from, and each one off it is
   * left out and its culprit named; a bad share among the first t is found when spare shares
   * let another t rebuild the committed secret.
   */
  private byte[] rebuild(String owner, Map<Integer, Revealed> shares, int t, byte[] session,
      String what, byte[] commitment, Advertisement advert, List<SiteFailure> failures) {
    if (shares.size() < t) {
      throw new RoundAbandonedException("the " + what + " of " + owner + " is held by "
          + shares.size() + " surviving neighbours, the threshold is " + t, failures);
    }
    Map<Integer, BigInteger> values = new TreeMap<>();
    List<Integer> bad = new ArrayList<>();
    shares.forEach((x, r) -> {
      try {
        values.put(x, Shamir.value(r.share()));
      } catch (IllegalArgumentException e) {
        bad.add(x);
      }
    });
    List<Integer> xs = new ArrayList<>(values.keySet());
    for (List<Integer> subset : candidates(xs, t)) {
      Map<Integer, BigInteger> points = new TreeMap<>();
      subset.forEach(x -> points.put(x, values.get(x)));
      Optional<byte[]> secret = Shamir.combine(points, 32)
          .filter(s -> Arrays.equals(SecAggSite.commit(what, s), commitment));
      if (secret.isPresent()) {
        Shamir.Polynomial polynomial = new Shamir.Polynomial(points);
        for (Integer x : xs) {
          if (!points.containsKey(x) && !polynomial.at(x).equals(values.get(x))) {
            bad.add(x);
          }
        }
        for (Integer x : bad) {
          Revealed r = shares.get(x);
          if (verifier.isEmpty()) {
            failures.add(new SiteFailure(owner, "secagg: its share of its " + what + " held by "
                + r.holder() + " does not fit the commitment (sent so, or altered by "
                + r.holder() + "; a server with a verifier tells which)"));
            continue;
          }
          failures.add(sharerSigned(owner, x, r, session, what, advert)
              ? new SiteFailure(owner, "secagg: sent " + r.holder() + " an inconsistent share"
                  + " of its " + what + " (it does not fit the commitment)")
              : new SiteFailure(r.holder(), "secagg: returned an altered share of " + owner
                  + "'s " + what));
        }
        return secret.get();
      }
    }
    throw new RoundAbandonedException("the shares of " + owner + "'s " + what + " are"
        + " inconsistent, and too few fit together to tell which", failures);
  }

  /**
   * The t-subsets of {@code xs} tried in turn: the first t, the first t + 1 less each one, and
   * every run of t in a row.
   */
  private static List<List<Integer>> candidates(List<Integer> xs, int t) {
    List<List<Integer>> out = new ArrayList<>();
    if (xs.size() < t) {
      return out;
    }
    out.add(xs.subList(0, t));
    for (int leave = 0; leave <= t && xs.size() > t; leave++) {
      List<Integer> rest = new ArrayList<>(xs.subList(0, t + 1));
      rest.remove(leave);
      out.add(rest);
    }
    for (int from = 1; from < xs.size(); from++) {
      List<Integer> run = new ArrayList<>();
      for (int i = 0; i < t; i++) {
        run.add(xs.get((from + i) % xs.size()));
      }
      out.add(run);
    }
    return out;
  }

  /** Whether the share's sharer signed it as revealed, so that the sharer is to blame. */
  private boolean sharerSigned(String owner, int x, Revealed r, byte[] session, String what,
      Advertisement advert) {
    try {
      verifier.get().verify(owner, advert.credential(), SecAggSite.shareSigned(session, owner,
          r.holder(), x, what, r.share()), r.signature());
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /**
   * Each site's k neighbours: the k/2 sites before and after it in a random order, a random
   * k-regular graph (everyone, when k = n − 1).
   */
  private Map<String, List<String>> neighbourGraph(List<String> sites, int k) {
    List<String> order = new ArrayList<>(sites);
    Collections.shuffle(order, random);
    int n = order.size();
    Map<String, List<String>> graph = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      List<String> mine = new ArrayList<>();
      if (k >= n - 1) {
        for (String v : order) {
          if (!v.equals(order.get(i))) {
            mine.add(v);
          }
        }
      } else {
        for (int step = 1; step <= k / 2; step++) {
          mine.add(order.get((i + step) % n));
          mine.add(order.get((i - step + n) % n));
        }
      }
      Collections.sort(mine);
      graph.put(order.get(i), mine);
    }
    return graph;
  }
}
