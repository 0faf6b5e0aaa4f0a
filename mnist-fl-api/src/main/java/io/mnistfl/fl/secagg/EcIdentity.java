package io.mnistfl.fl.secagg;

import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;

/**
 * An identity that signs with an EC private key (ECDSA over SHA-256) and presents a credential: a
 * certificate, or a simulation's public key.
 *
 * @param siteId the site's id
 * @param encodedCredential what others check its signatures against
 * @param key the signing key
 */
record EcIdentity(String siteId, byte[] encodedCredential, PrivateKey key) implements SiteIdentity {

  private static final String ALGORITHM = "SHA256withECDSA";

  @Override
  public byte[] credential() {
    return encodedCredential.clone();
  }

  @Override
  public byte[] sign(byte[] message) throws GeneralSecurityException {
    Signature s = Signature.getInstance(ALGORITHM);
    s.initSign(key);
    s.update(message);
    return s.sign();
  }

  /** Whether {@code signature} over {@code message} is by the holder of {@code signer}'s key. */
  static boolean verify(PublicKey signer, byte[] message, byte[] signature)
      throws GeneralSecurityException {
    Signature s = Signature.getInstance(ALGORITHM);
    s.initVerify(signer);
    s.update(message);
    return s.verify(signature);
  }
}
