package io.mnistfl.fl.secagg;

import io.mnistfl.fl.Client;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.site.ClientRuntime;
import io.mnistfl.fl.site.SiteLimits;
import io.mnistfl.fl.wire.Frame;
import io.mnistfl.fl.wire.MessageFormatException;
import io.mnistfl.fl.wire.Messages;
import java.io.IOException;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * A site's side of {@link SecureAggregation}: it answers the five stages in order, once each,
 * keeping its keys, seed and the shares it holds for one round. Keys, seeds and salts come fresh
 * from {@link SecureRandom} every round, never from the run's seed, since a resumed round would
 * reuse them; only the stochastic rounding of the update is seeded, so the aggregate is
 * reproducible. It trusts the server with nothing it can check itself: it refuses a threshold that
 * is not a majority of its neighbours (or below 2), checks its neighbours' signed advertisements
 * and every share it receives against its dealer's commitment, refuses to send an update that is
 * not finite, and reveals shares once, only when t of its neighbours signed the very survivor set
 * it was told and t of them are in it, choosing the kind of each share from that set itself: never
 * both kinds of one site, which would let the server unmask that site's update.
 */
public final class SecAggSite implements ClientRuntime.StageHandler {
  static final String SELF_MASK = "mnistfl-secagg-v1/self-mask";
  static final String PAIR_MASK = "mnistfl-secagg-v1/pair-mask";
  static final String PAIR_AGREEMENT = "mnistfl-secagg-v1/pair";
  private static final String SHARE_KEY = "mnistfl-secagg-v1/share-key";
  private static final int MAX_NEIGHBOURS = SecAggConfig.MAX_NEIGHBOURS;
  static final int SALT_BYTES = 16;

  private final SiteIdentity identity;
  private final IdentityVerifier verifier;
  private final SecureRandom random;
  private final Tamper tamper;
  private State state;

  /** Changes the shares a site deals; only tests do, to show that a bad share is caught. */
  interface Tamper {
    byte[] share(byte[] share, String holder, Secret kind);

    /** The x at which {@code holder}'s shares are dealt and committed to, {@code x} when honest. */
    default int x(int x, String holder) {
      return x;
    }
  }

  SecAggSite(SiteIdentity identity, IdentityVerifier verifier, Tamper tamper, SecureRandom random) {
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
    return new SecAggSite(identity, verifier, (share, holder, kind) -> share, new SecureRandom());
  }

  /** The stage a round has reached on this site; each request moves it on by one. */
  private enum Stage {
    ADVERTISED,
    SHARED,
    /** Asked for its masked input; it answers nothing more unless it sent it. */
    MASKING,
    MASKED,
    SIGNED
  }

  /** One round's secrets and what the site learned in it. */
  private static final class State {
    final byte[] session;
    final int round;
    final int threshold;
    final Quantizer quantizer;
    final List<String> neighbours;
    final KeyPair sharing;
    final KeyPair masking;
    final byte[] seed;

    /** The shares this site deals, by neighbour: seed share, salt, key share, salt. */
    final Map<String, Shares> dealt = new TreeMap<>();

    final Map<String, Peer> peers = new TreeMap<>();

    /** Shares this site holds, by owner. */
    final Map<String, Shares> held = new TreeMap<>();

    /** The sites that sent their masked input, as the server told this site and it signed. */
    List<String> survivors = List.of();

    Stage stage = Stage.ADVERTISED;

    State(
        byte[] session,
        int round,
        int threshold,
        Quantizer quantizer,
        List<String> neighbours,
        KeyPair sharing,
        KeyPair masking,
        byte[] seed) {
      this.session = session;
      this.round = round;
      this.threshold = threshold;
      this.quantizer = quantizer;
      this.neighbours = neighbours;
      this.sharing = sharing;
      this.masking = masking;
      this.seed = seed;
    }
  }

  /** A neighbour's checked advertisement and the two keys agreed with it. */
  private record Peer(Advertisement advert, byte[] shareKey, byte[] pairSeed) {}

  /** One site's shares of both secrets for one holder, at x, each with its commitment's salt. */
  private record Shares(int x, byte[] seedShare, byte[] seedSalt, byte[] keyShare, byte[] keySalt) {
    byte[] share(Secret kind) {
      return kind == Secret.SEED ? seedShare : keyShare;
    }

    byte[] salt(Secret kind) {
      return kind == Secret.SEED ? seedSalt : keySalt;
    }
  }

  @Override
  public boolean handles(String kind) {
    return kind.equals(SecureAggregation.ADVERTISE)
        || kind.equals(SecureAggregation.SHARE)
        || kind.equals(SecureAggregation.MASK)
        || kind.equals(SecureAggregation.CONSISTENCY)
        || kind.equals(SecureAggregation.UNMASK)
        || SecureAggregation.VERSION_1_REQUESTS.contains(kind);
  }

  @Override
  public synchronized byte[] handle(byte[] request, Client client, SiteLimits limits)
      throws IOException {
    String kind = Frame.kind(request).orElse("");
    try {
      return switch (kind) {
        case SecureAggregation.ADVERTISE -> advertise(request);
        case SecureAggregation.SHARE -> share(request);
        case SecureAggregation.MASK -> mask(request, client, limits);
        case SecureAggregation.CONSISTENCY -> consistency(request);
        case SecureAggregation.UNMASK -> unmask(request);
        default ->
            throw new GeneralSecurityException(
                "a request of secure aggregation version 1 (kind "
                    + kind
                    + "); this site speaks version "
                    + SecureAggregation.VERSION
                    + ", update the server");
      };
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new IOException("site " + identity.siteId() + " refuses: " + e.getMessage(), e);
    }
  }

  /** Reads the header of a request after the advertisement; it must continue this round. */
  private Body.Reader next(byte[] request, String kind, Stage expected)
      throws IOException, GeneralSecurityException {
    Body.Reader r = new Body.Reader(request, kind, "secure aggregation request");
    byte[] session = r.fixed(16);
    int round = r.i32();
    String site = r.string();
    State s = state;
    if (!site.equals(identity.siteId())) {
      throw new GeneralSecurityException("a request for site " + site);
    }
    if (s == null || !Arrays.equals(session, s.session) || round != s.round) {
      throw new GeneralSecurityException("a request of no round it advertised keys for");
    }
    if (s.stage != expected) {
      throw new GeneralSecurityException("a request out of order (after " + s.stage + ")");
    }
    return r;
  }

  private byte[] advertise(byte[] request) throws IOException, GeneralSecurityException {
    state = null;
    Body.Reader r =
        new Body.Reader(request, SecureAggregation.ADVERTISE, "secure aggregation request");
    byte[] session = r.fixed(16);
    int round = r.i32();
    String site = r.string();
    int threshold = r.u16();
    int bits = r.i32();
    double clipRange = r.f64();
    int exampleCap = r.i32();
    double clipNorm = r.f64();
    List<String> neighbours = r.strings(MAX_NEIGHBOURS);
    r.end();
    if (!site.equals(identity.siteId())) {
      throw new GeneralSecurityException("a request for site " + site);
    }
    if (new HashSet<>(neighbours).size() != neighbours.size()
        || neighbours.contains(identity.siteId())) {
      throw new GeneralSecurityException("a neighbour list with repeats or itself");
    }
    if (threshold < 2 || 2 * threshold <= neighbours.size() || threshold > neighbours.size()) {
      throw new GeneralSecurityException(
          "a threshold of "
              + threshold
              + " for "
              + neighbours.size()
              + " neighbours: it must be at least 2 and more than half of them, or a server"
              + " lying about dropouts could rebuild both of its secrets");
    }
    if (bits < 1
        || bits > 24
        || !(clipRange > 0 && Double.isFinite(clipRange))
        || exampleCap < 1
        || !(Double.isNaN(clipNorm) || clipNorm > 0 && Double.isFinite(clipNorm))) {
      throw new GeneralSecurityException(
          "parameters out of range: threshold "
              + threshold
              + " of "
              + neighbours.size()
              + ", "
              + bits
              + " bits, clip "
              + clipRange);
    }
    byte[] seed = new byte[32];
    random.nextBytes(seed);
    State s =
        new State(
            session,
            round,
            threshold,
            Quantizer.of(bits, clipRange, exampleCap, clipNorm),
            List.copyOf(neighbours),
            Crypto.x25519(random),
            Crypto.x25519(random),
            seed);
    List<BigInteger> seedShares = Shamir.split(seed, threshold, neighbours.size(), random);
    List<BigInteger> keyShares =
        Shamir.split(Crypto.scalar(s.masking.getPrivate()), threshold, neighbours.size(), random);
    byte[] commitments = new byte[neighbours.size() * Advertisement.PER_NEIGHBOUR];
    for (int i = 0; i < neighbours.size(); i++) {
      String holder = neighbours.get(i);
      int x = tamper.x(i + 1, holder);
      byte[] seedShare = tamper.share(Shamir.bytes(seedShares.get(x - 1)), holder, Secret.SEED);
      byte[] keyShare = tamper.share(Shamir.bytes(keyShares.get(x - 1)), holder, Secret.MASK_KEY);
      Shares d = new Shares(x, seedShare, salt(), keyShare, salt());
      s.dealt.put(holder, d);
      System.arraycopy(
          Secret.SEED.commitShare(identity.siteId(), holder, x, d.seedSalt(), seedShare),
          0,
          commitments,
          (x - 1) * Advertisement.PER_NEIGHBOUR,
          32);
      System.arraycopy(
          Secret.MASK_KEY.commitShare(identity.siteId(), holder, x, d.keySalt(), keyShare),
          0,
          commitments,
          (x - 1) * Advertisement.PER_NEIGHBOUR + 32,
          32);
    }
    byte[] sharingKey = s.sharing.getPublic().getEncoded();
    byte[] maskingKey = s.masking.getPublic().getEncoded();
    byte[] seedCommitment = Secret.SEED.commit(seed);
    byte[] keyCommitment = Secret.MASK_KEY.commit(Crypto.scalar(s.masking.getPrivate()));
    byte[] signature =
        identity.sign(
            Advertisement.signed(
                session,
                round,
                identity.siteId(),
                sharingKey,
                maskingKey,
                seedCommitment,
                keyCommitment,
                commitments));
    Body.Writer w = new Body.Writer();
    new Advertisement(
            identity.siteId(),
            sharingKey,
            maskingKey,
            seedCommitment,
            keyCommitment,
            commitments,
            identity.credential(),
            signature)
        .write(w);
    state = s;
    return w.frame(Advertisement.KIND);
  }

  private byte[] salt() {
    byte[] salt = new byte[SALT_BYTES];
    random.nextBytes(salt);
    return salt;
  }

  private byte[] share(byte[] request) throws IOException, GeneralSecurityException {
    Body.Reader r = next(request, SecureAggregation.SHARE, Stage.ADVERTISED);
    State s = state;
    int count = r.u16();
    if (count > s.neighbours.size()) {
      throw new GeneralSecurityException(
          count + " advertisements for " + s.neighbours.size() + " neighbours");
    }
    Map<String, Peer> peers = new TreeMap<>();
    for (int i = 0; i < count; i++) {
      Advertisement ad = Advertisement.read(r);
      if (!s.neighbours.contains(ad.siteId()) || peers.containsKey(ad.siteId())) {
        throw new GeneralSecurityException(
            "an advertisement of " + ad.siteId() + ", not a neighbour or a repeat");
      }
      verifier.verify(ad.siteId(), ad.credential(), ad.signed(s.session, s.round), ad.signature());
      // Agreeing now also refuses a key that is not a point of the curve or of small order.
      peers.put(
          ad.siteId(),
          new Peer(
              ad,
              Crypto.agree(
                  s.sharing.getPrivate(), Crypto.publicKey(ad.sharingKey()), s.session, SHARE_KEY),
              Crypto.agree(
                  s.masking.getPrivate(),
                  Crypto.publicKey(ad.maskingKey()),
                  s.session,
                  PAIR_AGREEMENT)));
    }
    r.end();
    if (peers.size() < s.threshold) {
      throw new GeneralSecurityException(
          "only " + peers.size() + " neighbours advertised," + " the threshold is " + s.threshold);
    }
    Body.Writer w = new Body.Writer().string(identity.siteId()).u16(peers.size());
    for (Map.Entry<String, Peer> p : peers.entrySet()) {
      Shares d = s.dealt.get(p.getKey());
      byte[] plain =
          new Body.Writer()
              .string(identity.siteId())
              .string(p.getKey())
              .u16(d.x())
              .fixed(d.seedShare())
              .fixed(d.seedSalt())
              .fixed(d.keyShare())
              .fixed(d.keySalt())
              .body();
      w.string(p.getKey())
          .bytes(
              Crypto.seal(
                  p.getValue().shareKey(),
                  plain,
                  Body.signed(s.session, identity.siteId(), p.getKey()),
                  random));
    }
    s.peers.putAll(peers);
    s.stage = Stage.SHARED;
    return w.frame(SecureAggregation.SHARES);
  }

  private byte[] mask(byte[] request, Client client, SiteLimits limits)
      throws IOException, GeneralSecurityException {
    Body.Reader r = next(request, SecureAggregation.MASK, Stage.SHARED);
    State s = state;
    int count = r.u16();
    if (count > s.peers.size()) {
      throw new GeneralSecurityException(count + " shares from " + s.peers.size() + " peers");
    }
    Map<String, Shares> held = new TreeMap<>();
    for (int i = 0; i < count; i++) {
      String sharer = r.string();
      byte[] sealed = r.bytes(1024);
      Peer peer = s.peers.get(sharer);
      if (peer == null || held.containsKey(sharer)) {
        throw new GeneralSecurityException("a share from " + sharer + ", not a peer or a repeat");
      }
      held.put(sharer, open(s, sharer, peer, sealed));
    }
    byte[] fit = r.bytes(Integer.MAX_VALUE);
    r.end();
    if (held.size() < s.threshold) {
      throw new GeneralSecurityException(
          "shares from " + held.size() + " neighbours, the" + " threshold is " + s.threshold);
    }
    Messages.Request fitRequest = Messages.decodeRequest(fit);
    if (fitRequest.evaluate()) {
      throw new MessageFormatException("an evaluation request where training was expected");
    }
    String refusal = limits.violation(fitRequest.config(), client.numExamples());
    if (!refusal.isEmpty()) {
      throw new IOException("site " + identity.siteId() + " refuses: " + refusal);
    }
    s.held.putAll(held);
    // From here on the site never masks again this round: two inputs under the same masks
    // would give away their difference.
    s.stage = Stage.MASKING;
    ClientUpdate update = client.fit(fitRequest.weights(), fitRequest.config());
    fitRequest.weights().requireSameLayout(update.weights(), "update");
    requireFinite(update);
    int units = s.quantizer.weightUnits(update);
    if (units < 1) {
      throw new GeneralSecurityException(
          "an update of " + update.numExamples() + " examples, which weighs nothing");
    }
    int[] values =
        s.quantizer.quantize(
            fitRequest.weights(),
            update,
            new SplittableRandom(
                roundingSeed(fitRequest.config().training().seed(), identity.siteId())));
    Crypto.mask(values, s.seed, SELF_MASK, 1);
    for (String peer : held.keySet()) {
      Crypto.mask(
          values,
          s.peers.get(peer).pairSeed(),
          PAIR_MASK,
          identity.siteId().compareTo(peer) < 0 ? 1 : -1);
    }
    byte[] signature =
        identity.sign(SecureAggregation.weightSigned(s.session, s.round, identity.siteId(), units));
    s.stage = Stage.MASKED;
    return new Body.Writer(4 * values.length + 1024)
        .string(identity.siteId())
        .ints(values)
        .i32(units)
        .bytes(signature)
        .frame(SecureAggregation.MASKED);
  }

  /**
   * Refuses an update that is not finite: the server can't see it under the masks, and quantizing
   * would sum it as values at the edge of the scale.
   */
  private static void requireFinite(ClientUpdate update) {
    for (io.mnistfl.model.Weights.NamedArray a : update.weights().arrays()) {
      for (float v : a.values()) {
        if (!Float.isFinite(v)) {
          throw new IllegalArgumentException(
              "its update array " + a.name() + " holds " + v + ", which it cannot sum securely");
        }
      }
    }
  }

  /** A sealed share from {@code sharer}, opened and checked against its commitments. */
  private Shares open(State s, String sharer, Peer peer, byte[] sealed)
      throws IOException, GeneralSecurityException {
    Body.Reader plain =
        Body.Reader.of(
            Crypto.open(peer.shareKey(), sealed, Body.signed(s.session, sharer, identity.siteId())),
            "share");
    if (!plain.string().equals(sharer) || !plain.string().equals(identity.siteId())) {
      throw new GeneralSecurityException("a share from " + sharer + " that names other sites");
    }
    Shares h =
        new Shares(
            plain.u16(),
            plain.fixed(Shamir.SHARE_BYTES),
            plain.fixed(SALT_BYTES),
            plain.fixed(Shamir.SHARE_BYTES),
            plain.fixed(SALT_BYTES));
    for (Secret kind : Secret.values()) {
      byte[] expected =
          peer.advert()
              .shareCommitment(h.x(), kind)
              .orElseThrow(
                  () ->
                      new GeneralSecurityException(
                          "a share from "
                              + sharer
                              + " at x = "
                              + h.x()
                              + ", which it committed no share to"));
      if (!Arrays.equals(
          expected,
          kind.commitShare(sharer, identity.siteId(), h.x(), h.salt(kind), h.share(kind)))) {
        throw new GeneralSecurityException(
            sharer
                + " dealt it a share of its "
                + kind
                + " that does not match its signed commitment");
      }
    }
    return h;
  }

  /** The seed of a site's stochastic rounding: the round's training seed and its id. */
  static long roundingSeed(long trainingSeed, String siteId) {
    return trainingSeed * 31 + siteId.hashCode();
  }

  /**
   * Stage 4: keeps the survivors the server names and signs them, so that its neighbours can tell
   * whether the server told them the same.
   */
  private byte[] consistency(byte[] request) throws IOException, GeneralSecurityException {
    Body.Reader r = next(request, SecureAggregation.CONSISTENCY, Stage.MASKED);
    State s = state;
    List<String> survivors = r.strings(ServerRound.MAX_SITES);
    r.end();
    for (int i = 1; i < survivors.size(); i++) {
      if (survivors.get(i - 1).compareTo(survivors.get(i)) >= 0) {
        throw new GeneralSecurityException("a survivor set that is not sorted or has repeats");
      }
    }
    if (!survivors.contains(identity.siteId())) {
      throw new GeneralSecurityException("a survivor set without itself, which sent its input");
    }
    s.survivors = List.copyOf(survivors);
    s.stage = Stage.SIGNED;
    byte[] signature =
        identity.sign(SecureAggregation.survivorsSigned(s.session, s.round, s.survivors));
    return new Body.Writer()
        .string(identity.siteId())
        .bytes(signature)
        .frame(SecureAggregation.SIGNED);
  }

  /**
   * Stage 5: reveals, once, the seed share of each held neighbour in its survivor set and the
   * mask-key share of each one out of it; nothing unless t of its neighbours are in that set and t
   * of them signed exactly that set.
   */
  private byte[] unmask(byte[] request) throws IOException, GeneralSecurityException {
    Body.Reader r = next(request, SecureAggregation.UNMASK, Stage.SIGNED);
    State s = state;
    // Whatever happens next, this round reveals nothing more.
    state = null;
    int count = r.u16();
    if (count > s.neighbours.size()) {
      throw new GeneralSecurityException(
          count + " signatures for " + s.neighbours.size() + " neighbours");
    }
    Map<String, byte[]> signatures = new TreeMap<>();
    for (int i = 0; i < count; i++) {
      String signer = r.string();
      byte[] signature = r.bytes(512);
      if (signatures.put(signer, signature) != null) {
        throw new GeneralSecurityException("two signatures of " + signer);
      }
    }
    r.end();
    Set<String> survived = new HashSet<>(s.survivors);
    long alive = s.held.keySet().stream().filter(survived::contains).count();
    if (alive < s.threshold) {
      throw new GeneralSecurityException(
          "reveals nothing: "
              + alive
              + " of its neighbours sent their input, the threshold is "
              + s.threshold);
    }
    byte[] signed = SecureAggregation.survivorsSigned(s.session, s.round, s.survivors);
    int agree = 0;
    int other = 0;
    for (Map.Entry<String, byte[]> e : signatures.entrySet()) {
      Peer peer = s.peers.get(e.getKey());
      if (peer == null || !survived.contains(e.getKey())) {
        other++;
        continue;
      }
      try {
        verifier.verify(e.getKey(), peer.advert().credential(), signed, e.getValue());
        agree++;
      } catch (GeneralSecurityException notTheirs) {
        other++;
      }
    }
    if (agree < s.threshold) {
      throw new GeneralSecurityException(
          "reveals nothing: "
              + agree
              + " of its neighbours signed the survivor set it was told, the threshold is "
              + s.threshold
              + (other > 0
                  ? "; "
                      + other
                      + " signatures cover another set or are not its neighbours': the server"
                      + " told its neighbours different survivor sets"
                  : ""));
    }
    Body.Writer w = new Body.Writer().string(identity.siteId()).u16(s.held.size());
    for (Map.Entry<String, Shares> e : s.held.entrySet()) {
      Secret kind = survived.contains(e.getKey()) ? Secret.SEED : Secret.MASK_KEY;
      Shares h = e.getValue();
      w.string(e.getKey()).u16(kind.ordinal()).u16(h.x()).fixed(h.share(kind)).fixed(h.salt(kind));
    }
    return w.frame(SecureAggregation.REVEALED);
  }
}
