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
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * A site's side of {@link SecureAggregation}: it answers the five stages in order, once each,
 * keeping its keys, seed and the shares it holds for one round. Keys, seeds and salts come fresh
 * from {@link SecureRandom} every round, never from the run's seed, since a resumed round would
 * reuse them; only the stochastic rounding of the update is seeded, so the aggregate is
 * reproducible. It trusts the server with nothing it can check itself: it refuses a threshold that
 * is not a majority of its neighbours (or below 2), checks its neighbours' signed advertisements,
 * refuses a neighbour advertising other parameters than its own or a key that agrees as another
 * advertised key does, checks every share it receives against its dealer's commitment, refuses to
 * send an update that is not finite, and reveals shares once, only when its neighbourhood is not
 * too small for the survivor set it was told, and t of the neighbours whose shares it holds signed
 * that very set over their advertisements of this round and the global weights it trained from, and
 * t of them are in it; it chooses the kind of each share from that set itself: never both kinds of
 * one site, which would let the server unmask that site's update.
 */
public final class SecAggSite implements ClientRuntime.StageHandler {
  static final String SELF_MASK = "mnistfl-secagg-v1/self-mask";
  static final String PAIR_MASK = "mnistfl-secagg-v1/pair-mask";
  static final String PAIR_AGREEMENT = "mnistfl-secagg-v1/pair";
  private static final String SHARE_KEY = "mnistfl-secagg-v3/share-key";
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
    final RoundParameters parameters;
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

    /** Its own advertisement of this round, which its signature over the survivors covers. */
    Advertisement advert;

    /** The digest of the global weights it trained from. */
    byte[] trainedFrom;

    Stage stage = Stage.ADVERTISED;

    State(
        byte[] session,
        int round,
        RoundParameters parameters,
        List<String> neighbours,
        KeyPair sharing,
        KeyPair masking,
        byte[] seed) {
      this.session = session;
      this.round = round;
      this.parameters = parameters;
      this.threshold = parameters.threshold();
      this.quantizer = parameters.quantizer();
      this.neighbours = neighbours;
      this.sharing = sharing;
      this.masking = masking;
      this.seed = seed;
    }
  }

  /**
   * A neighbour's checked advertisement and the keys agreed with it: one to seal the shares this
   * site deals it, one to open those it deals this site (one per direction, so that a key handed to
   * the server as proof of a bad share opens no share of the holder's), and the pair-mask seed.
   */
  private record Peer(Advertisement advert, byte[] sealTo, byte[] openFrom, byte[] pairSeed) {}

  /** One site's shares of both secrets for one holder, at x, each with its commitment's salt. */
  record Shares(int x, byte[] seedShare, byte[] seedSalt, byte[] keyShare, byte[] keySalt) {
    byte[] share(Secret kind) {
      return kind == Secret.SEED ? seedShare : keyShare;
    }

    byte[] salt(Secret kind) {
      return kind == Secret.SEED ? seedSalt : keySalt;
    }
  }

  /**
   * A share that is not one its dealer could honestly have dealt. {@code opened}: it opened under
   * the key agreed with its dealer, so the dealer sealed it, and that key proves the fault to the
   * server; otherwise nobody can tell whether its dealer or the wire spoilt it.
   */
  static final class BadShare extends GeneralSecurityException {
    private static final long serialVersionUID = 1L;

    final boolean opened;

    BadShare(boolean opened, String message) {
      super(message);
      this.opened = opened;
    }
  }

  /** The key that seals the shares {@code dealer} deals {@code holder}, from their agreement. */
  static byte[] shareKey(
      PrivateKey mine, PublicKey theirs, byte[] session, String dealer, String holder)
      throws GeneralSecurityException {
    return Crypto.agree(mine, theirs, session, Body.signed(SHARE_KEY, dealer, holder));
  }

  /**
   * The shares {@code dealer} sealed for {@code holder} under {@code key}, checked against the
   * commitments of the dealer's advertisement {@code ad}: the server runs the same check on the key
   * a holder hands it, to see who is at fault.
   */
  static Shares openShares(
      byte[] key, byte[] sealed, byte[] session, String dealer, String holder, Advertisement ad)
      throws BadShare {
    byte[] plain;
    try {
      plain = Crypto.open(key, sealed, Body.signed(session, dealer, holder));
    } catch (GeneralSecurityException e) {
      throw new BadShare(false, "the shares " + dealer + " dealt it do not open");
    }
    Shares h;
    try {
      Body.Reader r = Body.Reader.of(plain, "share");
      if (!r.string().equals(dealer) || !r.string().equals(holder)) {
        throw new BadShare(true, dealer + " dealt it shares that name other sites");
      }
      h =
          new Shares(
              r.u16(),
              r.fixed(Shamir.SHARE_BYTES),
              r.fixed(SALT_BYTES),
              r.fixed(Shamir.SHARE_BYTES),
              r.fixed(SALT_BYTES));
      r.end();
    } catch (MessageFormatException e) {
      throw new BadShare(true, dealer + " dealt it shares that do not parse: " + e.getMessage());
    }
    for (Secret kind : Secret.values()) {
      Optional<byte[]> expected = ad.shareCommitment(h.x(), kind);
      if (expected.isEmpty()) {
        throw new BadShare(
            true,
            dealer + " dealt it a share at x = " + h.x() + ", which it committed no share to");
      }
      if (!Arrays.equals(
          expected.get(), kind.commitShare(dealer, holder, h.x(), h.salt(kind), h.share(kind)))) {
        throw new BadShare(
            true,
            dealer
                + " dealt it a share of its "
                + kind
                + " at x = "
                + h.x()
                + " that does not match its signed commitment");
      }
    }
    return h;
  }

  @Override
  public boolean handles(String kind) {
    return kind.equals(SecureAggregation.ADVERTISE)
        || kind.equals(SecureAggregation.SHARE)
        || kind.equals(SecureAggregation.MASK)
        || kind.equals(SecureAggregation.CONSISTENCY)
        || kind.equals(SecureAggregation.UNMASK)
        || SecureAggregation.FORMER_REQUESTS.containsKey(kind);
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
                "a request of secure aggregation version "
                    + SecureAggregation.FORMER_REQUESTS.getOrDefault(kind, 0)
                    + " (kind "
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
    RoundParameters parameters = RoundParameters.read(r);
    List<String> neighbours = r.strings(MAX_NEIGHBOURS);
    r.end();
    if (!site.equals(identity.siteId())) {
      throw new GeneralSecurityException("a request for site " + site);
    }
    if (new HashSet<>(neighbours).size() != neighbours.size()
        || neighbours.contains(identity.siteId())) {
      throw new GeneralSecurityException("a neighbour list with repeats or itself");
    }
    String refusal = parameters.refusal(neighbours.size());
    if (!refusal.isEmpty()) {
      throw new GeneralSecurityException(refusal);
    }
    int threshold = parameters.threshold();
    byte[] seed = new byte[32];
    random.nextBytes(seed);
    State s =
        new State(
            session,
            round,
            parameters,
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
                parameters,
                sharingKey,
                maskingKey,
                seedCommitment,
                keyCommitment,
                commitments));
    s.advert =
        new Advertisement(
            identity.siteId(),
            parameters,
            sharingKey,
            maskingKey,
            seedCommitment,
            keyCommitment,
            commitments,
            identity.credential(),
            signature);
    Body.Writer w = new Body.Writer();
    s.advert.write(w);
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
    String me = identity.siteId();
    int count = r.u16();
    if (count > s.neighbours.size()) {
      throw new GeneralSecurityException(
          count + " advertisements for " + s.neighbours.size() + " neighbours");
    }
    // Every advertised key by its fingerprint, its own included: two that agree alike would
    // cancel the pair masks of the sites between them (a colluder copying a neighbour's key).
    PrivateKey probe = s.sharing.getPrivate();
    Map<String, String> keys = new HashMap<>();
    distinctKey(keys, probe, s.sharing.getPublic(), me, me);
    distinctKey(keys, probe, s.masking.getPublic(), me, me);
    Map<String, Peer> peers = new TreeMap<>();
    for (int i = 0; i < count; i++) {
      Advertisement ad = Advertisement.read(r);
      String v = ad.siteId();
      if (!s.neighbours.contains(v) || peers.containsKey(v)) {
        throw new GeneralSecurityException(
            "an advertisement of " + v + ", not a neighbour or a repeat");
      }
      verifier.verify(v, ad.credential(), ad.signed(s.session, s.round), ad.signature());
      if (!ad.parameters().equals(s.parameters)) {
        throw new GeneralSecurityException(
            "an advertisement of "
                + v
                + " with other parameters ("
                + ad.parameters()
                + ") than its own ("
                + s.parameters
                + "): the server gave its neighbours different thresholds or scales");
      }
      // Agreeing also refuses a key that is not a point of the curve or of small order.
      PublicKey sharing = Crypto.publicKey(ad.sharingKey());
      PublicKey masking = Crypto.publicKey(ad.maskingKey());
      distinctKey(keys, probe, sharing, v, me);
      distinctKey(keys, probe, masking, v, me);
      peers.put(
          v,
          new Peer(
              ad,
              shareKey(s.sharing.getPrivate(), sharing, s.session, me, v),
              shareKey(s.sharing.getPrivate(), sharing, s.session, v, me),
              Crypto.agree(s.masking.getPrivate(), masking, s.session, PAIR_AGREEMENT)));
    }
    r.end();
    if (peers.size() < s.threshold) {
      throw new GeneralSecurityException(
          "only " + peers.size() + " neighbours advertised," + " the threshold is " + s.threshold);
    }
    Body.Writer w = new Body.Writer().string(me).u16(peers.size());
    for (Map.Entry<String, Peer> p : peers.entrySet()) {
      Shares d = s.dealt.get(p.getKey());
      byte[] plain =
          new Body.Writer()
              .string(me)
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
                  p.getValue().sealTo(), plain, Body.signed(s.session, me, p.getKey()), random));
    }
    s.peers.putAll(peers);
    s.stage = Stage.SHARED;
    return w.frame(SecureAggregation.SHARES);
  }

  /**
   * Records {@code key}, advertised by {@code owner}, by its fingerprint; refuses it when another
   * advertised key (or this site's own) has the same, naming the sites.
   */
  private static void distinctKey(
      Map<String, String> keys, PrivateKey probe, PublicKey key, String owner, String me)
      throws GeneralSecurityException {
    String other =
        keys.putIfAbsent(HexFormat.of().formatHex(Crypto.fingerprint(probe, key)), owner);
    if (other == null) {
      return;
    }
    throw new GeneralSecurityException(
        other.equals(owner)
            ? (owner.equals(me)
                ? "its own two keys agree alike"
                : owner + " advertised one key twice")
            : other.equals(me)
                ? owner + " advertised a key that agrees as one of its own does"
                : owner
                    + " and "
                    + other
                    + " advertised keys that agree alike: one copied the other's, which would"
                    + " cancel the pair masks of the sites between them");
  }

  private byte[] mask(byte[] request, Client client, SiteLimits limits)
      throws IOException, GeneralSecurityException {
    Body.Reader r = next(request, SecureAggregation.MASK, Stage.SHARED);
    State s = state;
    String me = identity.siteId();
    int count = r.u16();
    if (count > s.peers.size()) {
      throw new GeneralSecurityException(count + " shares from " + s.peers.size() + " peers");
    }
    Map<String, Shares> held = new TreeMap<>();
    Map<String, BadShare> bad = new TreeMap<>();
    for (int i = 0; i < count; i++) {
      String dealer = r.string();
      byte[] sealed = r.bytes(1024);
      Peer peer = s.peers.get(dealer);
      if (peer == null || held.containsKey(dealer) || bad.containsKey(dealer)) {
        throw new GeneralSecurityException("a share from " + dealer + ", not a peer or a repeat");
      }
      try {
        held.put(dealer, openShares(peer.openFrom(), sealed, s.session, dealer, me, peer.advert()));
      } catch (BadShare e) {
        bad.put(dealer, e);
      }
    }
    byte[] fit = r.bytes(Integer.MAX_VALUE);
    r.end();
    if (!bad.isEmpty()
        && (held.size() < s.threshold || bad.values().stream().anyMatch(b -> !b.opened))) {
      // It cannot go on without those dealers: it sends no input, and names them; the server
      // leaves it out (a dealer can so evict a neighbour) and hears whom it blames.
      state = null;
      return complaints(new Body.Writer().string(me), s, bad)
          .u16(0)
          .frame(SecureAggregation.MASKED);
    }
    if (held.size() < s.threshold) {
      throw new GeneralSecurityException(
          "shares from " + held.size() + " neighbours, the" + " threshold is " + s.threshold);
    }
    Messages.Request fitRequest = Messages.decodeRequest(fit);
    if (fitRequest.evaluate()) {
      throw new MessageFormatException("an evaluation request where training was expected");
    }
    double clipNorm = fitRequest.config().clipNorm().orElse(Double.NaN);
    if (Double.compare(clipNorm, s.parameters.clipNorm()) != 0) {
      throw new GeneralSecurityException(
          "a fit request clipping to "
              + clipNorm
              + " where the parameters it advertised clip to "
              + s.parameters.clipNorm());
    }
    byte[] trainedFrom = SecureAggregation.trainedFrom(fitRequest.weights());
    if (!Arrays.equals(trainedFrom, s.parameters.global())) {
      throw new GeneralSecurityException(
          "a fit request whose global weights are not the ones it advertised (and its neighbours"
              + " with it)");
    }
    String refusal = limits.violation(fitRequest.config(), client.numExamples());
    if (!refusal.isEmpty()) {
      throw new IOException("site " + me + " refuses: " + refusal);
    }
    s.held.putAll(held);
    s.trainedFrom = trainedFrom;
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
            new SplittableRandom(roundingSeed(fitRequest.config().training().seed(), me)));
    Crypto.mask(values, s.seed, SELF_MASK, 1);
    // Only the neighbours whose shares it holds: the server leaves out a dealer it proves bad.
    for (String peer : held.keySet()) {
      Crypto.mask(values, s.peers.get(peer).pairSeed(), PAIR_MASK, me.compareTo(peer) < 0 ? 1 : -1);
    }
    byte[] signature = identity.sign(SecureAggregation.weightSigned(s.session, s.round, me, units));
    s.stage = Stage.MASKED;
    Body.Writer w = complaints(new Body.Writer(4 * values.length + 1024).string(me), s, bad);
    return w.u16(1).ints(values).i32(units).bytes(signature).frame(SecureAggregation.MASKED);
  }

  /**
   * Writes the dealers whose shares it refuses, each with the key that opens the shares the dealer
   * sealed for it when they opened (the server checks them with it, so a holder can't blame an
   * honest dealer), or none when they did not.
   */
  private static Body.Writer complaints(Body.Writer w, State s, Map<String, BadShare> bad) {
    w.u16(bad.size());
    bad.forEach(
        (dealer, why) ->
            w.string(dealer).bytes(why.opened ? s.peers.get(dealer).openFrom() : new byte[0]));
    return w;
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
        identity.sign(
            SecureAggregation.survivorsSigned(
                s.session, s.round, s.survivors, s.advert, s.trainedFrom));
    return new Body.Writer()
        .string(identity.siteId())
        .bytes(signature)
        .frame(SecureAggregation.SIGNED);
  }

  /**
   * Stage 5: reveals, once, the seed share of each held neighbour in its survivor set and the
   * mask-key share of each one out of it; nothing unless its k neighbours are not too few for that
   * set, t of the neighbours whose shares it holds are in it, and t of those signed exactly that
   * set over their advertisements of this round and the global weights this site trained from.
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
    // The graph is the server's: a neighbourhood it made small, and a threshold with it, would
    // let a colluder or two unmask this site. The k the defaults draw for the round it describes
    // is the least this site accepts.
    int least = SecAggConfig.minNeighbours(s.survivors.size());
    if (s.neighbours.size() < least) {
      throw new GeneralSecurityException(
          "reveals nothing: it has "
              + s.neighbours.size()
              + " neighbours, and a round of "
              + s.survivors.size()
              + " sites that sent their input calls for at least "
              + least
              + " (min(n - 1, 2 ceil(log2 n)))");
    }
    Set<String> survived = new HashSet<>(s.survivors);
    long alive = s.held.keySet().stream().filter(survived::contains).count();
    if (alive < s.threshold) {
      throw new GeneralSecurityException(
          "reveals nothing: "
              + alive
              + " of its neighbours sent their input, the threshold is "
              + s.threshold);
    }
    int agree = 0;
    int other = 0;
    for (Map.Entry<String, byte[]> e : signatures.entrySet()) {
      Peer peer = s.peers.get(e.getKey());
      // Only a neighbour whose shares opened under this round's keys: its advertisement is this
      // round's, not one the server replays, and its signature must cover that advertisement.
      if (peer == null || !s.held.containsKey(e.getKey()) || !survived.contains(e.getKey())) {
        other++;
        continue;
      }
      try {
        verifier.verify(
            e.getKey(),
            peer.advert().credential(),
            SecureAggregation.survivorsSigned(
                s.session, s.round, s.survivors, peer.advert(), s.trainedFrom),
            e.getValue());
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
                      + " signatures do not cover that set in this run (or are not of neighbours"
                      + " whose shares it holds): the server told its neighbours different"
                      + " survivor sets, or replays signatures"
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
