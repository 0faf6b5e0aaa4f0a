package io.mnistfl.fl.secagg;

import io.mnistfl.fl.server.FitProtocol;
import io.mnistfl.fl.server.FitResults;
import io.mnistfl.fl.server.RoundContext;
import io.mnistfl.fl.server.SiteExchange;
import io.mnistfl.fl.server.SiteInstruction;
import io.mnistfl.model.Weights;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Secure aggregation, SecAgg+ (Bell et al. 2020, after Bonawitz et al. 2017), as a {@link
 * FitProtocol}: the server learns the sum of the sites' updates and nothing of any one of them.
 *
 * <p>Five stages over the federation's exchange, so it runs over every transport. (1) Each site
 * advertises the round's parameters it was sent (t of k, t a majority of k, and the scale), two
 * fresh X25519 public keys and commitments to its self-mask seed, its mask key and each Shamir
 * share it will deal its k neighbours in a random k-regular graph, all signed with its long-term
 * identity. (2) Each site checks its neighbours' advertisements (signature, the same parameters as
 * its own, no key that agrees as another does) and sends each neighbour its two shares, encrypted
 * with AES-GCM under a key agreed with that neighbour for that direction. (3) Each site checks the
 * shares it got against their commitments (a dealer whose share opens but fails its own commitment
 * is left out, and the holder hands the server that share's key as proof), trains, weighs its
 * update by its example count (capped), clips and quantizes it to b-bit integers on the shared
 * scale, and sends it masked (plus a mask expanded from its seed, plus or minus a mask agreed with
 * each neighbour, modulo 2^32) with its weight in the clear, signed. (4) Each site that sent its
 * input is told the set of those that did and signs it, with the digest of its own advertisement of
 * this round and that of the global weights it trained from. (5) Each of them gets its neighbours'
 * signatures and reveals nothing unless its k is at least min(|S| − 1, 2⌈log2 |S|⌉) for the set S
 * it signed, t of the neighbours whose shares it holds signed that very S over the advertisements
 * it holds from them and the global weights it trained from, and t of them are in S; it then
 * reveals the seed shares of its neighbours in S and the mask-key shares of those out of it. The
 * server rebuilds and removes the masks, checking every share and every rebuilt secret against its
 * commitment and every rebuilt mask key against its advertised public key, checks the sum's range
 * and divides it by the sum of the signed weights. Fewer than t shares of a needed secret abandon
 * the round, and so do survivors that fall into groups sharing no masks, whose sums the unmasking
 * would reveal one by one.
 *
 * <p>The server's side handles masked vectors and their sum only: the one vector it ever unmasks is
 * the sum.
 */
public final class SecureAggregation implements FitProtocol {
  /** The version of the stages' messages, named when a site of another version is met. */
  static final int VERSION = 3;

  static final String ADVERTISE = "MFU1";
  static final String SHARE = "MFU2";
  static final String SHARES = "MFC2";
  static final String MASK = "MFU3";
  static final String MASKED = "MFC3";
  static final String CONSISTENCY = "MFU4";
  static final String SIGNED = "MFC4";
  static final String UNMASK = "MFU5";
  static final String REVEALED = "MFC5";

  /**
   * The requests of former versions, by kind, so that a site names the version it was sent: version
   * 1 had no consistency check and summed the weights masked; version 2 signed survivor sets that a
   * server reusing its session could replay and left each site's scale out of its advertisement.
   */
  static final Map<String, Integer> FORMER_REQUESTS =
      Map.ofEntries(
          Map.entry("MFS1", 1),
          Map.entry("MFS2", 1),
          Map.entry("MFS3", 1),
          Map.entry("MFS4", 1),
          Map.entry("MFT1", 2),
          Map.entry("MFT2", 2),
          Map.entry("MFT3", 2),
          Map.entry("MFT4", 2),
          Map.entry("MFT5", 2));

  /** The bytes a site's signature over its clear weight covers. */
  static byte[] weightSigned(byte[] session, int round, String siteId, int units) {
    return Body.signed("mnistfl-secagg-v3/weight", session, round, siteId, units);
  }

  /**
   * The bytes a site's signature over the survivors it was told covers: with them, the digest of
   * its own advertisement of this round (its fresh keys: a signature from another run, even under
   * the same session and round, covers another one) and the digest of the global weights it trained
   * from (a server sending some sites other weights, to single one out, gets no signature its other
   * neighbours count).
   */
  static byte[] survivorsSigned(
      byte[] session, int round, List<String> survivors, Advertisement signer, byte[] trainedFrom) {
    return new Body.Writer()
        .string("mnistfl-secagg-v3/survivors")
        .bytes(session)
        .i32(round)
        .strings(survivors)
        .bytes(signer.digest(session, round))
        .bytes(trainedFrom)
        .body();
  }

  /** The digest of the global weights a site trains from, as the survivor signature covers it. */
  static byte[] trainedFrom(Weights global) {
    return Crypto.digest(global);
  }

  private final SecAggConfig config;
  private final IdentityVerifier verifier;
  private final SecureRandom random;

  private SecureAggregation(SecAggConfig config, IdentityVerifier verifier, SecureRandom random) {
    this.config = Objects.requireNonNull(config, "config");
    this.verifier = Objects.requireNonNull(verifier, "verifier");
    this.random = random;
  }

  /**
   * Secure aggregation with {@code config}, the sites' signatures checked by {@code verifier} (the
   * same check the sites make of each other), so that a site with a bad identity or key is left out
   * before its neighbours see it.
   *
   * @param config k, t, bits, clip range and example cap
   * @param verifier the check of the federation's identities
   * @return the protocol
   */
  public static SecureAggregation of(SecAggConfig config, IdentityVerifier verifier) {
    return new SecureAggregation(config, verifier, new SecureRandom());
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
    return config.parameters();
  }

  @Override
  public String toString() {
    return "secure aggregation (SecAgg+)";
  }

  @Override
  public FitResults run(
      RoundContext round, List<SiteInstruction> instructions, SiteExchange exchange) {
    Unmasked u = unmask(round, instructions, exchange);
    return new FitResults.Sum(
        u.quantizer().deltaSum(u.sum(), u.contributors().size(), round.global()),
        u.quantizer().totalWeight(u.weightUnits()),
        u.contributors().size(),
        u.failures());
  }

  /**
   * The unmasked sum of a round's quantized values, as integers modulo 2^32, range-checked; the
   * sites it holds and the sum of their signed weights (in units of 1/cap, each at least 1); the
   * sites left out and the scale to read it with.
   */
  record Unmasked(
      int[] sum,
      List<String> contributors,
      long weightUnits,
      List<io.mnistfl.fl.SiteFailure> failures,
      Quantizer quantizer) {}

  /** Runs the five stages; the one vector it unmasks is the sum. */
  Unmasked unmask(RoundContext round, List<SiteInstruction> instructions, SiteExchange exchange) {
    return new ServerRound(config, verifier, random, round, instructions, exchange).run();
  }
}
