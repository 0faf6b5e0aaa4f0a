package io.mnistfl.fl.secagg;

import io.mnistfl.fl.Client;
import io.mnistfl.fl.ClientRuntime;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.SiteLimits;
import io.mnistfl.fl.wire.MessageFormatException;
import io.mnistfl.fl.wire.Messages;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * A site's side of {@link SecureAggregation}: it answers the four stages, keeping its keys,
 * seed and the shares it holds for one round. Keys and seeds come fresh from {@link
 * SecureRandom} every round, never from the run's seed, since a resumed round would reuse them;
 * only the stochastic rounding of the update is seeded, so the aggregate is reproducible. It
 * checks its neighbours' signed advertisements, and refuses to reveal both kinds of share of the
 * same site, which would let the server unmask that site's update.
 */
public final class SecAggSite implements ClientRuntime.StageHandler {
  static final String SELF_MASK = "mnistfl-secagg-v1/self-mask";
  static final String PAIR_MASK = "mnistfl-secagg-v1/pair-mask";
  static final String PAIR_AGREEMENT = "mnistfl-secagg-v1/pair";
  private static final String SHARE_KEY = "mnistfl-secagg-v1/share-key";
  private static final int MAX_NEIGHBOURS = 4096;

  private final SiteIdentity identity;
  private final IdentityVerifier verifier;
  private final SecureRandom random;
  private final Tamper tamper;
  private State state;

  /** Changes the shares a site sends; only tests do, to show that a bad share is caught. */
  interface Tamper {
    byte[] share(byte[] share, String holder, String what);
  }

  SecAggSite(SiteIdentity identity, IdentityVerifier verifier, Tamper tamper,
      SecureRandom random) {
    this.identity = Objects.requireNonNull(identity, "identity");
    this.verifier = Objects.requireNonNull(verifier, "verifier");
    this.tamper = tamper;
    this.random = random;
  }

  /**
   * The secure-aggregation stages of the site {@code identity} names.
   *
   * @param identity the site's signing identity
   * @param verifier the check of the other sites' identities
   * @return the handler, for {@link ClientRuntime#withStages}
   */
  public static SecAggSite of(SiteIdentity identity, IdentityVerifier verifier) {
    return new SecAggSite(identity, verifier, (share, holder, what) -> share,
        new SecureRandom());
  }

  /** One round's secrets and what the site learned in it. */
  private static final class State {
    byte[] session;
    int round;
    int threshold;
    Quantizer quantizer;
    List<String> neighbours;
    KeyPair sharing;
    KeyPair masking;
    byte[] seed;
    Map<String, Advertisement> peers = new TreeMap<>();
    /** Shares this site holds, by owner: x, seed share, key share and their signatures. */
    Map<String, Held> held = new TreeMap<>();
    List<String> maskPeers = List.of();
  }

  private record Held(int x, byte[] seedShare, byte[] keyShare, byte[] seedSignature,
      byte[] keySignature) {}

  @Override
  public boolean handles(String kind) {
    return kind.equals(SecureAggregation.ADVERTISE) || kind.equals(SecureAggregation.SHARE)
        || kind.equals(SecureAggregation.MASK) || kind.equals(SecureAggregation.UNMASK);
  }

  @Override
  public synchronized byte[] handle(byte[] request, Client client, SiteLimits limits)
      throws IOException {
    String kind = io.mnistfl.fl.wire.Frame.kind(request).orElse("");
    try {
      return switch (kind) {
        case SecureAggregation.ADVERTISE -> advertise(request);
        case SecureAggregation.SHARE -> share(request);
        case SecureAggregation.MASK -> mask(request, client, limits);
        default -> unmask(request);
      };
    } catch (GeneralSecurityException e) {
      throw new IOException("site " + identity.siteId() + " refuses: " + e.getMessage(), e);
    }
  }

  static byte[] commit(String what, byte[] secret) {
    return Crypto.sha256(("mnistfl-secagg-v1/commit/" + what).getBytes(StandardCharsets.UTF_8),
        secret);
  }

  static byte[] shareSigned(byte[] session, String owner, String holder, int x, String what,
      byte[] share) {
    return Body.signed("mnistfl-secagg-v1/share", session, owner, holder, x, what, share);
  }

  /** Reads the header every request starts with; the site must be this one. */
  private Body.Reader header(byte[] request, String kind, State expected)
      throws IOException, GeneralSecurityException {
    Body.Reader r = new Body.Reader(request, kind, "secure aggregation request");
    byte[] session = r.fixed(16);
    int round = r.i32();
    String site = r.string();
    if (!site.equals(identity.siteId())) {
      throw new GeneralSecurityException("a request for site " + site);
    }
    if (expected != null && (!java.util.Arrays.equals(session, expected.session)
        || round != expected.round)) {
      throw new GeneralSecurityException("a request of another round or session");
    }
    if (expected == null) {
      State s = new State();
      s.session = session;
      s.round = round;
      state = s;
    }
    return r;
  }

  private State current(String stage) throws GeneralSecurityException {
    if (state == null) {
      throw new GeneralSecurityException("a " + stage + " request before the advertisement");
    }
    return state;
  }

  private byte[] advertise(byte[] request) throws IOException, GeneralSecurityException {
    state = null;
    Body.Reader r = header(request, SecureAggregation.ADVERTISE, null);
    State s = state;
    s.threshold = r.u16();
    int bits = r.i32();
    double clipRange = r.f64();
    int exampleCap = r.i32();
    double clipNorm = r.f64();
    s.neighbours = r.strings(MAX_NEIGHBOURS);
    r.end();
    if (new HashSet<>(s.neighbours).size() != s.neighbours.size()
        || s.neighbours.contains(identity.siteId())) {
      throw new GeneralSecurityException("a neighbour list with repeats or itself");
    }
    if (s.threshold < 1 || s.threshold > s.neighbours.size() || bits < 1 || bits > 24
        || !(clipRange > 0 && Double.isFinite(clipRange)) || exampleCap < 1
        || !(Double.isNaN(clipNorm) || clipNorm > 0 && Double.isFinite(clipNorm))) {
      throw new GeneralSecurityException("parameters out of range: threshold " + s.threshold
          + " of " + s.neighbours.size() + ", " + bits + " bits, clip " + clipRange);
    }
    s.quantizer = Quantizer.of(bits, clipRange, exampleCap, clipNorm);
    s.sharing = Crypto.x25519(random);
    s.masking = Crypto.x25519(random);
    s.seed = new byte[32];
    random.nextBytes(s.seed);
    byte[] sharingKey = s.sharing.getPublic().getEncoded();
    byte[] maskingKey = s.masking.getPublic().getEncoded();
    byte[] seedCommitment = commit("seed", s.seed);
    byte[] keyCommitment = commit("mask key", Crypto.scalar(s.masking.getPrivate()));
    byte[] signature = identity.sign(Advertisement.signed(s.session, s.round,
        identity.siteId(), sharingKey, maskingKey, seedCommitment, keyCommitment));
    Body.Writer w = new Body.Writer();
    new Advertisement(identity.siteId(), sharingKey, maskingKey, seedCommitment, keyCommitment,
        identity.credential(), signature).write(w);
    return w.frame(Advertisement.KIND);
  }

  private byte[] share(byte[] request) throws IOException, GeneralSecurityException {
    State s = current("share keys");
    Body.Reader r = header(request, SecureAggregation.SHARE, s);
    int count = r.u16();
    if (count > s.neighbours.size()) {
      throw new GeneralSecurityException(count + " advertisements for " + s.neighbours.size()
          + " neighbours");
    }
    for (int i = 0; i < count; i++) {
      Advertisement ad = Advertisement.read(r);
      if (!s.neighbours.contains(ad.siteId()) || s.peers.containsKey(ad.siteId())) {
        throw new GeneralSecurityException("an advertisement of " + ad.siteId()
            + ", not a neighbour or a repeat");
      }
      verifier.verify(ad.siteId(), ad.credential(), ad.signed(s.session, s.round),
          ad.signature());
      Crypto.publicKey(ad.sharingKey());
      Crypto.publicKey(ad.maskingKey());
      s.peers.put(ad.siteId(), ad);
    }
    r.end();
    if (s.peers.size() < s.threshold) {
      throw new GeneralSecurityException("only " + s.peers.size() + " neighbours advertised,"
          + " the threshold is " + s.threshold);
    }
    int holders = s.neighbours.size();
    List<BigInteger> seedShares = Shamir.split(s.seed, s.threshold, holders, random);
    List<BigInteger> keyShares = Shamir.split(Crypto.scalar(s.masking.getPrivate()),
        s.threshold, holders, random);
    Body.Writer w = new Body.Writer().string(identity.siteId()).u16(s.peers.size());
    for (int i = 0; i < holders; i++) {
      String holder = s.neighbours.get(i);
      Advertisement ad = s.peers.get(holder);
      if (ad == null) {
        continue;
      }
      int x = i + 1;
      byte[] seedShare = tamper.share(Shamir.bytes(seedShares.get(i)), holder, "seed");
      byte[] keyShare = tamper.share(Shamir.bytes(keyShares.get(i)), holder, "mask key");
      byte[] plain = new Body.Writer().string(identity.siteId()).string(holder).u16(x)
          .fixed(seedShare).fixed(keyShare)
          .bytes(identity.sign(shareSigned(s.session, identity.siteId(), holder, x, "seed",
              seedShare)))
          .bytes(identity.sign(shareSigned(s.session, identity.siteId(), holder, x, "mask key",
              keyShare)))
          .body();
      byte[] key = Crypto.agree(s.sharing.getPrivate(), Crypto.publicKey(ad.sharingKey()),
          s.session, SHARE_KEY);
      w.string(holder).bytes(Crypto.seal(key, plain, Body.signed(s.session, identity.siteId(),
          holder), random));
    }
    return w.frame(SecureAggregation.SHARES);
  }

  private byte[] mask(byte[] request, Client client, SiteLimits limits)
      throws IOException, GeneralSecurityException {
    State s = current("masked input");
    Body.Reader r = header(request, SecureAggregation.MASK, s);
    int count = r.u16();
    if (count > s.peers.size()) {
      throw new GeneralSecurityException(count + " shares from " + s.peers.size() + " peers");
    }
    List<String> sharers = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      String sharer = r.string();
      byte[] sealed = r.bytes(1024);
      Advertisement ad = s.peers.get(sharer);
      if (ad == null || s.held.containsKey(sharer)) {
        throw new GeneralSecurityException("a share from " + sharer + ", not a peer or a repeat");
      }
      byte[] key = Crypto.agree(s.sharing.getPrivate(), Crypto.publicKey(ad.sharingKey()),
          s.session, SHARE_KEY);
      Body.Reader plain = Body.Reader.of(Crypto.open(key, sealed, Body.signed(s.session,
          sharer, identity.siteId())), "share");
      if (!plain.string().equals(sharer) || !plain.string().equals(identity.siteId())) {
        throw new GeneralSecurityException("a share that names other sites");
      }
      int x = plain.u16();
      Held h = new Held(x, plain.fixed(Shamir.SHARE_BYTES), plain.fixed(Shamir.SHARE_BYTES),
          plain.bytes(512), plain.bytes(512));
      verifier.verify(sharer, ad.credential(), shareSigned(s.session, sharer, identity.siteId(),
          x, "seed", h.seedShare()), h.seedSignature());
      verifier.verify(sharer, ad.credential(), shareSigned(s.session, sharer, identity.siteId(),
          x, "mask key", h.keyShare()), h.keySignature());
      s.held.put(sharer, h);
      sharers.add(sharer);
    }
    byte[] fit = r.bytes(Integer.MAX_VALUE);
    r.end();
    if (sharers.size() < s.threshold) {
      throw new GeneralSecurityException("shares from " + sharers.size() + " neighbours, the"
          + " threshold is " + s.threshold);
    }
    s.maskPeers = List.copyOf(new TreeMap<>(s.held).keySet());
    Messages.Request fitRequest = Messages.decodeRequest(fit);
    String refusal = limits.violation(fitRequest.config(), client.numExamples());
    if (!refusal.isEmpty()) {
      throw new IOException("site " + identity.siteId() + " refuses: " + refusal);
    }
    ClientUpdate update = client.fit(fitRequest.weights(), fitRequest.config());
    fitRequest.weights().requireSameLayout(update.weights(), "update");
    int[] values = s.quantizer.quantize(fitRequest.weights(), update, new SplittableRandom(
        roundingSeed(fitRequest.config().training().seed(), identity.siteId())));
    Crypto.mask(values, s.seed, SELF_MASK, 1);
    for (String peer : s.maskPeers) {
      byte[] pair = Crypto.agree(s.masking.getPrivate(),
          Crypto.publicKey(s.peers.get(peer).maskingKey()), s.session, PAIR_AGREEMENT);
      Crypto.mask(values, pair, PAIR_MASK, identity.siteId().compareTo(peer) < 0 ? 1 : -1);
    }
    return new Body.Writer().string(identity.siteId()).ints(values)
        .frame(SecureAggregation.MASKED);
  }

  /** The seed of a site's stochastic rounding: the round's training seed and its id. */
  static long roundingSeed(long trainingSeed, String siteId) {
    return trainingSeed * 31 + siteId.hashCode();
  }

  private byte[] unmask(byte[] request) throws IOException, GeneralSecurityException {
    State s = current("unmask");
    Body.Reader r = header(request, SecureAggregation.UNMASK, s);
    List<String> survivors = r.strings(MAX_NEIGHBOURS);
    List<String> dropped = r.strings(MAX_NEIGHBOURS);
    r.end();
    Set<String> both = new HashSet<>(survivors);
    both.retainAll(dropped);
    if (!both.isEmpty()) {
      throw new GeneralSecurityException("asked for both kinds of share of " + both);
    }
    for (String id : survivors) {
      if (!s.held.containsKey(id)) {
        throw new GeneralSecurityException("asked for a share of " + id + ", which it does not"
            + " hold");
      }
    }
    for (String id : dropped) {
      if (!s.held.containsKey(id)) {
        throw new GeneralSecurityException("asked for a share of " + id + ", which it does not"
            + " hold");
      }
    }
    Body.Writer w = new Body.Writer().string(identity.siteId())
        .u16(survivors.size() + dropped.size());
    for (String id : survivors) {
      Held h = s.held.get(id);
      w.string(id).u16(0).u16(h.x()).fixed(h.seedShare()).bytes(h.seedSignature());
    }
    for (String id : dropped) {
      Held h = s.held.get(id);
      w.string(id).u16(1).u16(h.x()).fixed(h.keyShare()).bytes(h.keySignature());
    }
    state = null;
    return w.frame(SecureAggregation.REVEALED);
  }
}
