package io.mnistfl.fl.secagg;

import io.mnistfl.fl.FitProtocol;
import io.mnistfl.fl.FitResults;
import io.mnistfl.fl.RoundAbandonedException;
import io.mnistfl.fl.RoundContext;
import io.mnistfl.fl.SiteExchange;
import io.mnistfl.fl.SiteInstruction;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Secure aggregation, SecAgg+ (Bell et al. 2020, after Bonawitz et al. 2017), as a {@link
 * FitProtocol}: the server learns the sum of the sites' updates and nothing of any one of them.
 *
 * <p>Four stages over the federation's exchange, so it runs over every transport. (1) Each site
 * advertises two fresh X25519 public keys and commitments to its self-mask seed, its mask key and
 * each Shamir share (t of k) it will deal its k neighbours in a random k-regular graph, all signed
 * with its long-term identity. (2) Each site sends each neighbour its two shares, encrypted with
 * AES-GCM under a key agreed with that neighbour. (3) Each site checks the shares it got against
 * their commitments, trains, weighs its update by its example count (capped), clips and quantizes
 * it to b-bit integers on a scale all sites share, and sends it masked: plus a mask expanded from
 * its seed, plus or minus a mask agreed with each neighbour, modulo 2^32. (4) Sites still present
 * reveal the seed shares of the sites that sent their input and the mask-key shares of those that
 * dropped after sharing; the server rebuilds and removes the masks, checking every share and every
 * rebuilt secret against its commitment. Fewer than t shares of a needed secret abandon the round,
 * and so do survivors that fall into groups sharing no masks, whose sums the unmasking would reveal
 * one by one.
 *
 * <p>The server's side handles masked vectors and their sum only: the one vector it ever unmasks is
 * the sum.
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
    double totalWeight = u.quantizer().totalWeight(u.sum());
    if (!(totalWeight > 0)) {
      throw new RoundAbandonedException("the sites' weights sum to 0", u.failures());
    }
    return new FitResults.Sum(
        u.quantizer().deltaSum(u.sum(), u.contributors().size(), round.global()),
        totalWeight,
        u.contributors().size(),
        u.failures());
  }

  /**
   * The unmasked sum of a round's quantized values, as integers modulo 2^32, the sites it holds,
   * the sites left out and the scale to read it with.
   */
  record Unmasked(
      int[] sum,
      List<String> contributors,
      List<io.mnistfl.fl.SiteFailure> failures,
      Quantizer quantizer) {}

  /** Runs the four stages; the one vector it unmasks is the sum. */
  Unmasked unmask(RoundContext round, List<SiteInstruction> instructions, SiteExchange exchange) {
    return new ServerRound(config, verifier, random, round, instructions, exchange).run();
  }
}
