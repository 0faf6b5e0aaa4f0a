package io.mnistfl.fl.secagg;

import io.mnistfl.fl.SiteFailure;
import io.mnistfl.fl.server.RoundAbandonedException;
import io.mnistfl.fl.server.RoundContext;
import io.mnistfl.fl.server.SiteExchange;
import io.mnistfl.fl.server.SiteInstruction;
import io.mnistfl.fl.wire.MessageFormatException;
import io.mnistfl.fl.wire.Messages;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.IntStream;

/**
 * The server's side of one round of {@link SecureAggregation}: the five stages in order, each
 * answer checked before anything in it is used, and the unmasking of the sum.
 */
final class ServerRound {
  /** The most sites a round takes: the survivor set a site signs counts them in 16 bits. */
  static final int MAX_SITES = 0xFFFF;

  private final SecAggConfig config;
  private final IdentityVerifier verifier;
  private final SecureRandom random;
  private final RoundContext round;
  private final SiteExchange exchange;
  private final Map<String, SiteInstruction> byId = new TreeMap<>();
  private final List<SiteFailure> failures = new ArrayList<>();
  private final byte[] session = new byte[16];
  private int t;
  private RoundParameters parameters;
  private Quantizer quantizer;
  private byte[] trainedFrom;
  private KeyPair probe;
  private Map<String, List<String>> graph;
  private final Map<String, Advertisement> adverts = new TreeMap<>();

  ServerRound(
      SecAggConfig config,
      IdentityVerifier verifier,
      SecureRandom random,
      RoundContext round,
      List<SiteInstruction> instructions,
      SiteExchange exchange) {
    this.config = config;
    this.verifier = verifier;
    this.random = random;
    this.round = round;
    this.exchange = exchange;
    instructions.forEach(i -> byId.put(i.siteId(), i));
  }

  SecureAggregation.Unmasked run() {
    List<String> sites = new ArrayList<>(byId.keySet());
    int n = sites.size();
    int k = config.neighboursFor(n);
    t = config.thresholdFor(k);
    if (n < 3 || t > k) {
      throw abandon(
          n
              + " site"
              + (n == 1 ? "" : "s")
              + " sampled, secure aggregation needs at"
              + " least "
              + Math.max(3, t + 1));
    }
    if (n > MAX_SITES) {
      throw abandon(n + " sites sampled, secure aggregation takes at most " + MAX_SITES);
    }
    if (2 * t <= k) {
      throw abandon(
          "a threshold of "
              + t
              + " for "
              + k
              + " neighbours ("
              + n
              + " sites) is not more than half of them: a server lying about dropouts could"
              + " rebuild both secrets of a site, and the sites refuse it");
    }
    int least = SecAggConfig.minNeighbours(n);
    if (k < least) {
      throw abandon(
          k
              + " neighbours for "
              + n
              + " sites: a site reveals nothing with fewer than min(n - 1, 2 ceil(log2 n)) = "
              + least
              + " for a round of n sites (the graph is the server's choice, so the sites"
              + " check it); leave the neighbours to the default or raise them");
    }
    String overflow = config.overflow(n);
    if (!overflow.isEmpty()) {
      throw abandon(overflow);
    }
    List<Double> clipNorms =
        byId.values().stream()
            .map(i -> i.config().clipNorm().orElse(Double.NaN))
            .distinct()
            .toList();
    if (clipNorms.size() > 1) {
      throw abandon(
          "secure aggregation needs one clip norm for all sites, the instructions"
              + " hold "
              + clipNorms);
    }
    double clipNorm = clipNorms.get(0);
    trainedFrom = SecureAggregation.trainedFrom(round.global());
    parameters =
        new RoundParameters(
            t, config.bits(), config.clipRange(), config.exampleCap(), clipNorm, trainedFrom);
    quantizer = parameters.quantizer();
    graph = neighbourGraph(sites, k);
    random.nextBytes(session);
    try {
      probe = Crypto.x25519(random);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK always provides X25519", e);
    }

    advertise(sites);
    Map<String, Map<String, byte[]>> sealedFor = new TreeMap<>();
    List<String> shared = shareKeys(sealedFor);
    Map<String, List<String>> maskPeers = new TreeMap<>();
    int[] sum = new int[(int) round.global().scalarCount()];
    Map<String, Integer> weights = maskedInput(shared, sealedFor, maskPeers, sum);
    List<String> survivors = new ArrayList<>(weights.keySet());
    if (survivors.isEmpty()) {
      throw abandon("no site sent its masked input");
    }
    Set<String> survived = new HashSet<>(survivors);
    requireConnected(survivors, survived, maskPeers);
    // Every site that shared its keys may be a mask peer of a survivor, sent input or not.
    List<String> dropped = shared.stream().filter(u -> !survived.contains(u)).toList();
    Map<String, byte[]> signatures = consistency(survivors);
    removeMasks(sum, survivors, survived, dropped, maskPeers, signatures);
    String outOfRange = quantizer.outOfRange(sum, survivors.size());
    if (!outOfRange.isEmpty()) {
      throw abandon(outOfRange);
    }
    long units = weights.values().stream().mapToLong(Integer::longValue).sum();
    return new SecureAggregation.Unmasked(sum, List.copyOf(survivors), units, failures, quantizer);
  }

  private RoundAbandonedException abandon(String reason) {
    return new RoundAbandonedException(reason, failures);
  }

  private Body.Writer header(String site) {
    return header(site, 256);
  }

  private Body.Writer header(String site, int capacity) {
    return new Body.Writer(capacity).fixed(session).i32(round.round()).string(site);
  }

  /**
   * Stage 1: each site's advertisement, its signature, parameters and keys checked; then every site
   * advertising a key that agrees as another advertised key does (one copied the other's) is left
   * out.
   */
  private void advertise(List<String> sites) {
    Map<String, byte[]> requests = new LinkedHashMap<>();
    for (String u : sites) {
      Body.Writer w = header(u);
      parameters.write(w);
      requests.put(u, w.strings(graph.get(u)).frame(SecureAggregation.ADVERTISE));
    }
    SiteExchange.Replies replies = exchange.send("secagg advertise", requests);
    for (SiteFailure f : replies.failures()) {
      // An older site answers the first request it does not know with the runtime's refusal.
      failures.add(
          f.reason().contains("does not know messages of kind '" + SecureAggregation.ADVERTISE)
              ? new SiteFailure(
                  f.siteId(),
                  f.reason()
                      + " (it does not speak secure aggregation version "
                      + SecureAggregation.VERSION
                      + ", which this server runs; update the site)")
              : f);
    }
    // Each key by its fingerprint, with the sites that advertised it.
    Map<String, List<String>> keys = new HashMap<>();
    for (Map.Entry<String, byte[]> a : replies.answers().entrySet()) {
      String u = a.getKey();
      try {
        Body.Reader r = new Body.Reader(a.getValue(), Advertisement.KIND, "advertisement");
        Advertisement ad = Advertisement.read(r);
        r.end();
        if (!ad.siteId().equals(u)) {
          throw new GeneralSecurityException("advertised as " + ad.siteId());
        }
        if (ad.neighbours() != graph.get(u).size()) {
          throw new GeneralSecurityException(
              "share commitments for "
                  + ad.neighbours()
                  + " neighbours, it has "
                  + graph.get(u).size());
        }
        verifier.verify(u, ad.credential(), ad.signed(session, round.round()), ad.signature());
        if (!ad.parameters().equals(parameters)) {
          throw new GeneralSecurityException(
              "advertised other parameters ("
                  + ad.parameters()
                  + ") than sent ("
                  + parameters
                  + ")");
        }
        // The fingerprints also refuse a key of small order.
        List<String> prints = new ArrayList<>();
        for (byte[] key : List.of(ad.sharingKey(), ad.maskingKey())) {
          prints.add(
              HexFormat.of()
                  .formatHex(Crypto.fingerprint(probe.getPrivate(), Crypto.publicKey(key))));
        }
        prints.forEach(print -> keys.computeIfAbsent(print, p -> new ArrayList<>()).add(u));
        adverts.put(u, ad);
      } catch (MessageFormatException | GeneralSecurityException | RuntimeException e) {
        failures.add(new SiteFailure(u, "secagg advertise: " + e.getMessage()));
      }
    }
    Map<String, Set<String>> clashes = new TreeMap<>();
    for (List<String> owners : keys.values()) {
      if (owners.size() > 1) {
        for (String u : owners) {
          Set<String> with = clashes.computeIfAbsent(u, x -> new TreeSet<>());
          owners.stream().filter(v -> !v.equals(u)).forEach(with::add);
          if (owners.stream().filter(u::equals).count() > 1) {
            with.add(u);
          }
        }
      }
    }
    clashes.forEach(
        (u, with) -> {
          adverts.remove(u);
          failures.add(
              new SiteFailure(
                  u,
                  "secagg advertise: a key that agrees as a key of "
                      + String.join(", ", with)
                      + " does: a copied key would cancel the pair masks of the sites between"
                      + " them, so every site advertising it is left out"));
        });
  }

  /**
   * Stage 2: each site gets its advertised neighbours' advertisements and deals each of them its
   * sealed shares; returns the sites that did, filling {@code sealedFor} by holder.
   */
  private List<String> shareKeys(Map<String, Map<String, byte[]>> sealedFor) {
    Map<String, byte[]> requests = new LinkedHashMap<>();
    Map<String, List<String>> asked = new HashMap<>();
    for (String u : adverts.keySet()) {
      List<String> mine = graph.get(u).stream().filter(adverts::containsKey).toList();
      if (mine.size() < t) {
        failures.add(
            new SiteFailure(
                u,
                "secagg: "
                    + mine.size()
                    + " of its neighbours"
                    + " advertised keys, the threshold is "
                    + t));
        continue;
      }
      Body.Writer w = header(u).u16(mine.size());
      mine.forEach(v -> adverts.get(v).write(w));
      requests.put(u, w.frame(SecureAggregation.SHARE));
      asked.put(u, mine);
    }
    SiteExchange.Replies replies = exchange.send("secagg share keys", requests);
    failures.addAll(replies.failures());
    List<String> shared = new ArrayList<>();
    for (Map.Entry<String, byte[]> a : replies.answers().entrySet()) {
      String u = a.getKey();
      try {
        Body.Reader r = new Body.Reader(a.getValue(), SecureAggregation.SHARES, "shares");
        if (!r.string().equals(u)) {
          throw new MessageFormatException("shares sent as another site");
        }
        int count = r.u16();
        Map<String, byte[]> sealed = new TreeMap<>();
        for (int i = 0; i < count; i++) {
          String holder = r.string();
          byte[] ciphertext = r.bytes(1024);
          if (!asked.get(u).contains(holder) || sealed.put(holder, ciphertext) != null) {
            throw new MessageFormatException(
                "a share for "
                    + holder
                    + ", not a neighbour that"
                    + " advertised keys, or a repeat");
          }
        }
        r.end();
        // Pairwise masks must be symmetric: a site deals every advertised neighbour a share.
        if (sealed.size() != asked.get(u).size()) {
          throw new MessageFormatException(
              "shares for " + sealed.size() + " of its " + asked.get(u).size() + " neighbours");
        }
        sealed.forEach(
            (holder, ct) -> sealedFor.computeIfAbsent(holder, h -> new TreeMap<>()).put(u, ct));
        shared.add(u);
      } catch (MessageFormatException e) {
        failures.add(new SiteFailure(u, "secagg share keys: " + e.getMessage()));
      }
    }
    return shared;
  }

  /**
   * Stage 3: each site that shared gets the shares its sharing neighbours dealt it and the fit
   * request; it answers its masked input and its weight, signed. The inputs of the sites whose
   * weight holds are summed as they are read; returns those sites, sorted, with their weights.
   */
  private Map<String, Integer> maskedInput(
      List<String> shared,
      Map<String, Map<String, byte[]>> sealedFor,
      Map<String, List<String>> maskPeers,
      int[] sum) {
    Set<String> sharedSet = new HashSet<>(shared);
    Map<String, byte[]> requests = new LinkedHashMap<>();
    Map<Object, byte[]> fitRequests = new HashMap<>();
    for (String u : shared) {
      Map<String, byte[]> toMe = new TreeMap<>(sealedFor.getOrDefault(u, Map.of()));
      toMe.keySet().retainAll(sharedSet);
      if (toMe.size() < t) {
        failures.add(
            new SiteFailure(
                u,
                "secagg: shares from " + toMe.size() + " neighbours," + " the threshold is " + t));
        continue;
      }
      maskPeers.put(u, List.copyOf(toMe.keySet()));
      SiteInstruction instruction = byId.get(u);
      byte[] fit =
          fitRequests.computeIfAbsent(
              instruction.config(), c -> Messages.encodeFit(instruction.config(), round.global()));
      int capacity =
          512 + fit.length + toMe.values().stream().mapToInt(ct -> ct.length + 300).sum();
      Body.Writer w = header(u, capacity).u16(toMe.size());
      toMe.forEach((sharer, ct) -> w.string(sharer).bytes(ct));
      requests.put(u, w.bytes(fit).frame(SecureAggregation.MASK));
    }
    SiteExchange.Replies replies = exchange.send("secagg masked input", requests);
    requests.clear();
    failures.addAll(replies.failures());
    // First the dealers each site refuses the shares of, judged with the keys it hands over, so
    // that the input of a dealer proven bad is left out before anything is summed.
    Map<String, Body.Reader> inputs = new LinkedHashMap<>();
    Map<String, Set<String>> refused = new HashMap<>();
    Map<String, List<String>> provenBad = new TreeMap<>();
    Set<String> left = new HashSet<>();
    for (Map.Entry<String, byte[]> a : replies.answers().entrySet()) {
      String u = a.getKey();
      try {
        Body.Reader r = new Body.Reader(a.getValue(), SecureAggregation.MASKED, "masked input");
        if (!r.string().equals(u)) {
          throw new MessageFormatException("masked input sent as another site");
        }
        Map<String, byte[]> complaints = readComplaints(u, r, maskPeers.get(u));
        int sent = r.u16();
        if (sent > 1) {
          throw new MessageFormatException("masked input: a flag of " + sent);
        }
        List<String> unopened = new ArrayList<>();
        String falsely = null;
        for (Map.Entry<String, byte[]> c : complaints.entrySet()) {
          String dealer = c.getKey();
          if (c.getValue().length == 0) {
            unopened.add(dealer);
            continue;
          }
          try {
            SecAggSite.openShares(
                c.getValue(),
                sealedFor.get(u).get(dealer),
                session,
                dealer,
                u,
                adverts.get(dealer));
            falsely = "it refused the shares of " + dealer + ", which fit their commitments";
          } catch (SecAggSite.BadShare e) {
            if (e.opened) {
              provenBad
                  .computeIfAbsent(dealer, d -> new ArrayList<>())
                  .add(u + ": " + e.getMessage());
            } else {
              falsely =
                  "it refused the shares of "
                      + dealer
                      + " with a key that does not open them, which proves nothing";
            }
          }
        }
        if (!unopened.isEmpty() && sent == 1) {
          throw new MessageFormatException(
              "masked input beside shares it could not open, of " + String.join(", ", unopened));
        }
        for (String dealer : unopened) {
          // Either may be at fault: the dealer sealed garbage, or the holder says it did.
          failures.add(
              new SiteFailure(
                  dealer,
                  "secagg: "
                      + u
                      + " could not open the shares it dealt it and left the round"
                      + " (the dealer or that holder is at fault)"));
        }
        if (falsely != null) {
          left.add(u);
          failures.add(new SiteFailure(u, "secagg masked input: " + falsely + "; left out"));
        } else if (sent == 0) {
          failures.add(
              new SiteFailure(
                  u,
                  "secagg masked input: sent no input"
                      + (complaints.isEmpty()
                          ? ""
                          : ", refusing the shares of " + String.join(", ", complaints.keySet()))));
        } else {
          refused.put(u, complaints.keySet());
          inputs.put(u, r);
        }
      } catch (MessageFormatException e) {
        failures.add(new SiteFailure(u, "secagg masked input: " + e.getMessage()));
      }
    }
    provenBad.forEach(
        (dealer, why) -> {
          left.add(dealer);
          failures.add(
              new SiteFailure(
                  dealer,
                  "secagg: dealt shares that are not the ones it committed to ("
                      + String.join("; ", why)
                      + ", proven with the holder's key); its input is left out"));
        });
    Map<String, Integer> weights = new TreeMap<>();
    for (Map.Entry<String, Body.Reader> a : inputs.entrySet()) {
      String u = a.getKey();
      if (left.contains(u)) {
        continue;
      }
      try {
        Body.Reader r = a.getValue();
        int[] masked = r.ints(sum.length);
        int units = r.i32();
        byte[] signature = r.bytes(512);
        r.end();
        String refusal = quantizer.weightRefusal(units);
        if (!refusal.isEmpty()) {
          throw new GeneralSecurityException(refusal);
        }
        verifier.verify(
            u,
            adverts.get(u).credential(),
            SecureAggregation.weightSigned(session, round.round(), u, units),
            signature);
        for (int i = 0; i < masked.length; i++) {
          sum[i] += masked[i];
        }
        weights.put(u, units);
        // It masked with the dealers whose shares it kept, and only those.
        Set<String> out = refused.get(u);
        maskPeers.put(u, maskPeers.get(u).stream().filter(v -> !out.contains(v)).toList());
      } catch (MessageFormatException | GeneralSecurityException e) {
        failures.add(new SiteFailure(u, "secagg masked input: " + e.getMessage()));
      }
    }
    return weights;
  }

  /**
   * The dealers {@code holder} refuses the shares of, each with the key that opens them (or none,
   * when they did not open): each must be one whose shares it was sent, once.
   */
  private static Map<String, byte[]> readComplaints(
      String holder, Body.Reader r, List<String> dealers) throws MessageFormatException {
    int count = r.u16();
    if (count > dealers.size()) {
      throw new MessageFormatException(
          "refuses the shares of " + count + " of its " + dealers.size() + " dealers");
    }
    Map<String, byte[]> complaints = new TreeMap<>();
    for (int i = 0; i < count; i++) {
      String dealer = r.string();
      byte[] key = r.bytes(32);
      if (key.length != 0 && key.length != 32) {
        throw new MessageFormatException("a key of " + key.length + " bytes");
      }
      if (!dealers.contains(dealer) || complaints.put(dealer, key) != null) {
        throw new MessageFormatException(
            holder
                + " refuses the shares of "
                + dealer
                + ", not a dealer of its shares or a repeat");
      }
    }
    return complaints;
  }

  /**
   * Stage 4, the consistency check of Bonawitz et al.: each survivor is told the sorted set of the
   * survivors and signs it, with the digests of its advertisement and of the global weights it
   * trained from. Returns each signer's signature, checked; a site's neighbours reveal nothing
   * unless t of their own neighbours signed the very set they were told, in this run, having
   * trained from the same global weights.
   */
  private Map<String, byte[]> consistency(List<String> survivors) {
    int capacity = 256 + survivors.stream().mapToInt(u -> u.length() * 3 + 4).sum();
    Map<String, byte[]> requests = new LinkedHashMap<>();
    for (String u : survivors) {
      requests.put(u, header(u, capacity).strings(survivors).frame(SecureAggregation.CONSISTENCY));
    }
    SiteExchange.Replies replies = exchange.send("secagg consistency", requests);
    requests.clear();
    failures.addAll(replies.failures());
    Map<String, byte[]> signatures = new TreeMap<>();
    for (Map.Entry<String, byte[]> a : replies.answers().entrySet()) {
      String u = a.getKey();
      try {
        Body.Reader r = new Body.Reader(a.getValue(), SecureAggregation.SIGNED, "signed survivors");
        if (!r.string().equals(u)) {
          throw new MessageFormatException("survivors signed as another site");
        }
        byte[] signature = r.bytes(512);
        r.end();
        byte[] signed =
            SecureAggregation.survivorsSigned(
                session, round.round(), survivors, adverts.get(u), trainedFrom);
        verifier.verify(u, adverts.get(u).credential(), signed, signature);
        signatures.put(u, signature);
      } catch (MessageFormatException | GeneralSecurityException e) {
        failures.add(new SiteFailure(u, "secagg consistency: " + e.getMessage()));
      }
    }
    return signatures;
  }

  /**
   * Refuses to unmask survivors that fall into groups sharing no masks: each group's sum would come
   * out on its own.
   */
  private void requireConnected(
      List<String> survivors, Set<String> survived, Map<String, List<String>> maskPeers) {
    Set<String> reached = new HashSet<>();
    Deque<String> todo = new ArrayDeque<>(List.of(survivors.get(0)));
    reached.add(survivors.get(0));
    while (!todo.isEmpty()) {
      for (String v : maskPeers.get(todo.pop())) {
        if (survived.contains(v) && reached.add(v)) {
          todo.push(v);
        }
      }
    }
    if (reached.size() < survivors.size()) {
      throw abandon(
          "the "
              + survivors.size()
              + " sites that sent their input fall into groups"
              + " that share no masks ("
              + reached.size()
              + " with "
              + survivors.get(0)
              + "); the"
              + " unmasking would reveal each group's sum");
    }
  }

  /** A revealed share, checked against its commitment. */
  private record Revealed(String holder, int x, BigInteger value) {}

  /**
   * Stage 5: the signers that can reveal (t of their neighbours signed, t of their sharing
   * neighbours survived) get their neighbours' signatures and reveal; the secrets are rebuilt and
   * their masks removed. A secret with fewer than t holders able to reveal it abandons the round
   * before anyone is asked.
   */
  private void removeMasks(
      int[] sum,
      List<String> survivors,
      Set<String> survived,
      List<String> dropped,
      Map<String, List<String>> maskPeers,
      Map<String, byte[]> signatures) {
    // A site counts the signatures of the neighbours whose shares it holds, its mask peers.
    List<String> able =
        signatures.keySet().stream()
            .filter(
                u ->
                    maskPeers.get(u).stream().filter(signatures::containsKey).count() >= t
                        && maskPeers.get(u).stream().filter(survived::contains).count() >= t)
            .toList();
    Map<String, List<String>> affectedBy = new TreeMap<>();
    for (String v : dropped) {
      List<String> affected = survivors.stream().filter(u -> maskPeers.get(u).contains(v)).toList();
      if (!affected.isEmpty()) {
        affectedBy.put(v, affected);
      }
    }
    Map<String, Integer> holders = new HashMap<>();
    able.forEach(u -> maskPeers.get(u).forEach(v -> holders.merge(v, 1, Integer::sum)));
    for (String v : survivors) {
      requireHolders(v, Secret.SEED, holders.getOrDefault(v, 0));
    }
    for (String v : affectedBy.keySet()) {
      requireHolders(v, Secret.MASK_KEY, holders.getOrDefault(v, 0));
    }
    Map<String, byte[]> requests = new LinkedHashMap<>();
    for (String u : able) {
      List<String> signers = maskPeers.get(u).stream().filter(signatures::containsKey).toList();
      Body.Writer w = header(u).u16(signers.size());
      signers.forEach(v -> w.string(v).bytes(signatures.get(v)));
      requests.put(u, w.frame(SecureAggregation.UNMASK));
    }
    SiteExchange.Replies replies = exchange.send("secagg unmask", requests);
    failures.addAll(replies.failures());
    Map<String, Map<Integer, Revealed>> revealed = new TreeMap<>();
    for (Map.Entry<String, byte[]> a : replies.answers().entrySet()) {
      readRevealed(a.getKey(), a.getValue(), survived, maskPeers, revealed);
    }
    try {
      for (String v : survivors) {
        byte[] seed = rebuild(v, Secret.SEED, revealed.getOrDefault(v, Map.of()));
        Crypto.mask(sum, seed, SecAggSite.SELF_MASK, -1);
      }
      for (Map.Entry<String, List<String>> e : affectedBy.entrySet()) {
        String v = e.getKey();
        PrivateKey key =
            Crypto.privateKey(rebuild(v, Secret.MASK_KEY, revealed.getOrDefault(v, Map.of())));
        if (!Crypto.isPrivateKeyOf(key, Crypto.publicKey(adverts.get(v).maskingKey()), probe)) {
          // It committed to, and dealt shares of, another key than the one it advertised: its
          // pair masks can't be removed, and the sum would be garbage.
          failures.add(
              new SiteFailure(
                  v,
                  "secagg: dealt shares of a mask key (matching its commitment) that is not the"
                      + " private key of the one it advertised"));
          throw abandon(
              "the mask key of "
                  + v
                  + " its shares rebuild is not the one it advertised: its pair masks cannot be"
                  + " removed");
        }
        for (String u : e.getValue()) {
          byte[] pair =
              Crypto.agree(
                  key,
                  Crypto.publicKey(adverts.get(u).maskingKey()),
                  session,
                  SecAggSite.PAIR_AGREEMENT);
          // u added the pair's mask if u < v and subtracted it otherwise: undo that.
          Crypto.mask(sum, pair, SecAggSite.PAIR_MASK, u.compareTo(v) < 0 ? -1 : 1);
        }
      }
    } catch (GeneralSecurityException e) {
      throw abandon("cannot remove the masks: " + e.getMessage());
    }
  }

  /** Abandons the round unless t sites able to reveal hold {@code owner}'s shares. */
  private void requireHolders(String owner, Secret secret, int holders) {
    if (holders < t) {
      throw abandon(
          "the "
              + secret
              + " of "
              + owner
              + " is held by "
              + holders
              + " surviving neighbours able to reveal it, the threshold is "
              + t
              + " (a site reveals only when "
              + t
              + " of its neighbours sent their input and signed the survivors)");
    }
  }

  /**
   * One holder's revealed shares: each must be one it was asked for, and match the commitment its
   * owner signed, or the holder altered it and is named.
   */
  private void readRevealed(
      String holder,
      byte[] answer,
      Set<String> survived,
      Map<String, List<String>> maskPeers,
      Map<String, Map<Integer, Revealed>> revealed) {
    try {
      Body.Reader r = new Body.Reader(answer, SecureAggregation.REVEALED, "revealed shares");
      if (!r.string().equals(holder)) {
        throw new MessageFormatException("shares revealed as another site");
      }
      int count = r.u16();
      Map<String, Revealed> mine = new TreeMap<>();
      Set<String> seen = new HashSet<>();
      List<String> altered = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        String owner = r.string();
        int kind = r.u16();
        int x = r.u16();
        byte[] share = r.fixed(Shamir.SHARE_BYTES);
        byte[] salt = r.fixed(SecAggSite.SALT_BYTES);
        if (!maskPeers.get(holder).contains(owner) || !seen.add(owner)) {
          throw new MessageFormatException("a share of " + owner + ", not a peer or a repeat");
        }
        Secret secret = survived.contains(owner) ? Secret.SEED : Secret.MASK_KEY;
        if (kind != secret.ordinal()) {
          throw new MessageFormatException(
              "a share of " + owner + " of kind " + kind + ", not the one its survival calls for");
        }
        Optional<byte[]> committed = adverts.get(owner).shareCommitment(x, secret);
        if (committed.isEmpty()
            || !Arrays.equals(committed.get(), secret.commitShare(owner, holder, x, salt, share))) {
          altered.add(owner + "'s " + secret);
          continue;
        }
        int place = graph.get(owner).indexOf(holder) + 1;
        if (x != place) {
          // The owner committed to this share at another holder's x: its dealing is at fault,
          // and only this share is left out.
          failures.add(
              new SiteFailure(
                  owner,
                  "secagg: dealt "
                      + holder
                      + " its share of its "
                      + secret
                      + " numbered x = "
                      + x
                      + ", not "
                      + place
                      + "; that share is left out"));
          continue;
        }
        try {
          mine.put(owner, new Revealed(holder, x, Shamir.value(share)));
        } catch (IllegalArgumentException e) {
          // Outside the field, yet committed to: its owner dealt it; rebuilding names it.
          mine.put(owner, new Revealed(holder, x, Shamir.P));
        }
      }
      r.end();
      if (!altered.isEmpty()) {
        failures.add(
            new SiteFailure(
                holder,
                "secagg: returned shares that are not the ones"
                    + " their owners committed to ("
                    + String.join(", ", altered)
                    + ")"));
      }
      mine.forEach(
          (owner, share) ->
              revealed.computeIfAbsent(owner, o -> new TreeMap<>()).put(share.x(), share));
    } catch (MessageFormatException e) {
      failures.add(new SiteFailure(holder, "secagg unmask: " + e.getMessage()));
    }
  }

  /** Rebuilding tries every t-subset of the revealed shares when there are at most this many. */
  static final int MAX_SUBSETS = 4096;

  /**
   * The secret of {@code owner} from its revealed shares, checked against its commitment. The
   * shares all match the commitments the owner signed, so one off the polynomial of the committed
   * secret was dealt so by the owner, who is named. Every t-subset is tried when there are at most
   * {@link #MAX_SUBSETS} (so the secret comes back whenever t of the shares lie on a polynomial
   * through it), else the first t, the first t + 1 less one and every run of t in a row. Of the
   * polynomials through a subset whose secret matches the commitment, the one most shares lie on is
   * taken; the holders of the shares off it are named only when no other can hold as many.
   */
  private byte[] rebuild(String owner, Secret secret, Map<Integer, Revealed> shares) {
    if (shares.size() < t) {
      throw abandon(
          "the "
              + secret
              + " of "
              + owner
              + " is held by "
              + shares.size()
              + " surviving neighbours, the threshold is "
              + t);
    }
    byte[] commitment =
        secret == Secret.SEED
            ? adverts.get(owner).seedCommitment()
            : adverts.get(owner).keyCommitment();
    List<Integer> xs = new ArrayList<>(shares.keySet());
    int m = xs.size();
    boolean every = subsets(m, t) <= MAX_SUBSETS;
    byte[] value = null;
    Set<Integer> best = null;
    boolean tie = false;
    for (List<Integer> subset : every ? allSubsets(xs, t) : candidates(xs, t)) {
      if (best != null && best.containsAll(subset)) {
        continue; // the polynomial already found
      }
      Map<Integer, BigInteger> points = new TreeMap<>();
      subset.forEach(x -> points.put(x, shares.get(x).value()));
      Optional<byte[]> candidate =
          Shamir.combine(points, 32).filter(v -> Arrays.equals(secret.commit(v), commitment));
      if (candidate.isEmpty()) {
        continue;
      }
      Shamir.Polynomial polynomial = new Shamir.Polynomial(points);
      Set<Integer> on = new TreeSet<>();
      for (int x : xs) {
        if (points.containsKey(x) || polynomial.at(x).equals(shares.get(x).value())) {
          on.add(x);
        }
      }
      if (best == null || on.size() > best.size()) {
        best = on;
        value = candidate.get();
        tie = false;
      } else if (on.size() == best.size()) {
        tie = true;
      }
      // Two polynomials of degree < t share at most t − 1 points: none other can hold as many.
      if (2 * best.size() > m + t - 1) {
        break;
      }
    }
    if (best == null) {
      failures.add(
          new SiteFailure(
              owner,
              "secagg: dealt shares of its " + secret + " that do" + " not fit its commitment"));
      throw abandon(
          "the shares "
              + owner
              + " dealt of its "
              + secret
              + " are inconsistent, and"
              + " too few fit together to rebuild it");
    }
    if (best.size() < m) {
      Set<Integer> on = best;
      boolean sure = 2 * best.size() > m + t - 1 || every && !tie;
      failures.add(
          new SiteFailure(
              owner,
              sure
                  ? "secagg: dealt "
                      + String.join(
                          ", ",
                          xs.stream()
                              .filter(x -> !on.contains(x))
                              .map(x -> shares.get(x).holder())
                              .toList())
                      + " shares of its "
                      + secret
                      + " that do not fit its commitment"
                  : "secagg: dealt shares of its "
                      + secret
                      + " that do not fit its commitment: no polynomial through it holds more than "
                      + best.size()
                      + " of the "
                      + m
                      + " revealed, and which are off it is not clear"));
    }
    return value;
  }

  /** C(m, t), or more than {@link #MAX_SUBSETS} once it passes that. */
  static long subsets(int m, int t) {
    long c = 1;
    for (int i = 0; i < Math.min(t, m - t); i++) {
      c = c * (m - i) / (i + 1);
      if (c > MAX_SUBSETS) {
        return MAX_SUBSETS + 1L;
      }
    }
    return c;
  }

  /**
   * Every t-subset of {@code xs}, in lexicographic order of positions, each made only when the
   * caller reaches it: with honest shares the first one rebuilds the secret.
   */
  static Iterable<List<Integer>> allSubsets(List<Integer> xs, int t) {
    return () ->
        new Iterator<>() {
          private int[] at = IntStream.range(0, t).toArray();

          @Override
          public boolean hasNext() {
            return at != null;
          }

          @Override
          public List<Integer> next() {
            if (at == null) {
              throw new NoSuchElementException();
            }
            List<Integer> subset = new ArrayList<>(t);
            for (int i : at) {
              subset.add(xs.get(i));
            }
            int i = t - 1;
            while (i >= 0 && at[i] == xs.size() - t + i) {
              i--;
            }
            if (i < 0) {
              at = null;
            } else {
              at[i]++;
              for (int j = i + 1; j < t; j++) {
                at[j] = at[j - 1] + 1;
              }
            }
            return subset;
          }
        };
  }

  /**
   * The t-subsets of {@code xs} tried in turn when there are too many to try them all: the first t,
   * the first t + 1 less each one, and every run of t in a row.
   */
  private static Iterable<List<Integer>> candidates(List<Integer> xs, int t) {
    List<List<Integer>> out = new ArrayList<>();
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

  /**
   * Each site's k neighbours: a Harary graph over a random order, as in SecAgg+ (the k/2 sites
   * before and after each site; everyone, when k = n − 1).
   */
  private Map<String, List<String>> neighbourGraph(List<String> sites, int k) {
    List<String> order = new ArrayList<>(sites);
    Collections.shuffle(order, random);
    int n = order.size();
    Map<String, List<String>> out = new TreeMap<>();
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
      out.put(order.get(i), mine);
    }
    return out;
  }
}
