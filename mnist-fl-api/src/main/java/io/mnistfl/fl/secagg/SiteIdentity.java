package io.mnistfl.fl.secagg;

import java.security.GeneralSecurityException;

/**
 * A site's long-term identity in secure aggregation: it signs the site's key advertisement and its
 * shares, so that neither the server nor another site can substitute them. Over gRPC it is the key
 * of the site's TLS certificate; in a simulation, a key pair of the simulation's own.
 */
public interface SiteIdentity {

  /**
   * The site's id.
   *
   * @return the id
   */
  String siteId();

  /**
   * What others need to check this site's signatures: its certificate, or its public key.
   *
   * @return the encoded credential
   */
  byte[] credential();

  /**
   * Signs {@code message}.
   *
   * @param message the bytes to sign
   * @return the signature
   * @throws GeneralSecurityException when the key cannot sign
   */
  byte[] sign(byte[] message) throws GeneralSecurityException;
}
