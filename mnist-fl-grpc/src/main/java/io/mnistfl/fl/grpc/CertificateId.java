package io.mnistfl.fl.grpc;

import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Locale;
import javax.naming.NamingException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * What the server knows of a peer: the certificate it presented in the TLS handshake, which TLS
 * verified against the federation's CA, never anything the peer says. The name is the subject's one
 * common name; the serial and the SHA-256 of the certificate tell two certificates of one name
 * apart, so that one of them can be revoked.
 *
 * @param name the subject's common name
 * @param serial the certificate's serial number
 * @param sha256 the SHA-256 of the certificate's DER encoding, 64 lowercase hex digits
 */
record CertificateId(String name, BigInteger serial, String sha256) {

  /**
   * The identity of {@code certificate}.
   *
   * @throws CertificateException when its subject has no common name, several, or one that is not a
   *     site id (letters, digits, '.', '_', '-')
   */
  static CertificateId of(X509Certificate certificate) throws CertificateException {
    String subject = certificate.getSubjectX500Principal().getName();
    String name = null;
    int names = 0;
    try {
      for (Rdn rdn : new LdapName(subject).getRdns()) {
        var attributes = rdn.toAttributes().get("CN");
        if (attributes != null) {
          names += attributes.size();
          name = String.valueOf(attributes.get());
        }
      }
    } catch (NamingException e) {
      throw new CertificateException("a certificate whose subject cannot be read: " + subject, e);
    }
    if (names != 1) {
      throw new CertificateException(
          "the certificate of " + subject + " has " + names + " common names, not one");
    }
    if (!AllowList.ID.matcher(name).matches()) {
      throw new CertificateException(
          "the certificate of " + subject + " has a common name that is not a site id");
    }
    return new CertificateId(name, certificate.getSerialNumber(), fingerprint(certificate));
  }

  /** The SHA-256 of the certificate's DER encoding, in lowercase hex. */
  static String fingerprint(X509Certificate certificate) throws CertificateEncodingException {
    try {
      return HexFormat.of()
          .formatHex(MessageDigest.getInstance("SHA-256").digest(certificate.getEncoded()));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK always provides SHA-256", e);
    }
  }

  /** The certificate as events name it: its name, serial and fingerprint. */
  String describe() {
    return "certificate "
        + name
        + " (serial "
        + serial.toString(16).toUpperCase(Locale.ROOT)
        + ", sha256 "
        + sha256
        + ")";
  }
}
