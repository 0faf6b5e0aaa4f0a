package io.mnistfl.fl.secagg;

import io.mnistfl.fl.site.ClientRuntime;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Identities for a simulation in one JVM: an EC P-256 key pair per site id, made on first use from
 * {@link SecureRandom}, and a verifier that accepts exactly those public keys. It plays the part
 * the CA and the certificates play over gRPC.
 */
public final class SimulatedIdentities {
  private final Map<String, KeyPair> keys = new ConcurrentHashMap<>();
  private final VerifiedSignatures verified = new VerifiedSignatures();

  /**
   * The identity of {@code siteId}.
   *
   * @param siteId the site
   * @return its identity
   */
  public SiteIdentity of(String siteId) {
    KeyPair pair = keys.computeIfAbsent(siteId, id -> generate());
    return new EcIdentity(siteId, pair.getPublic().getEncoded(), pair.getPrivate());
  }

  /**
   * Accepts a signature when the credential is the registered public key of the site. Sites
   * simulated in one JVM share what was verified: a signature one of them checked is not checked
   * again by the others, which a deployment's sites, each on its own machine, would each do.
   *
   * @return the verifier
   */
  public IdentityVerifier verifier() {
    return (siteId, credential, message, signature) -> {
      KeyPair pair = keys.get(siteId);
      if (pair == null || !Arrays.equals(pair.getPublic().getEncoded(), credential)) {
        throw new GeneralSecurityException("not the registered key of site " + siteId);
      }
      verified.check(
          siteId,
          credential,
          message,
          signature,
          () -> EcIdentity.verify(pair.getPublic(), message, signature));
    };
  }

  /**
   * {@code runtime}, also answering secure aggregation under the identity this simulation makes for
   * its site: the one call a simulation needs per site.
   *
   * @param runtime a simulated site's runtime
   * @return the runtime with secure aggregation's stages
   */
  public ClientRuntime secure(ClientRuntime runtime) {
    return runtime.withStages(SecAggSite.of(of(runtime.siteId()), verifier()));
  }

  private static KeyPair generate() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK always provides EC P-256", e);
    }
  }
}
