package io.mnistfl.fl.secagg;

import java.security.GeneralSecurityException;

/**
 * Checks that a credential belongs to a site id and that a signature is that site's: the
 * certificate chains to the federation's CA and names the site, or the public key is the one a
 * simulation registered for it.
 */
public interface IdentityVerifier {

  /**
   * Fails unless {@code signature} over {@code message} is by {@code siteId}.
   *
   * @param siteId the claimed signer
   * @param credential the signer's certificate or public key
   * @param message the signed bytes
   * @param signature the signature
   * @throws GeneralSecurityException naming what does not hold
   */
  void verify(String siteId, byte[] credential, byte[] message, byte[] signature)
      throws GeneralSecurityException;
}
