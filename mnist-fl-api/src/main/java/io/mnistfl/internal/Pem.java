package io.mnistfl.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Collection;
import java.util.Optional;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/** The PEM files of the federation's PKI: certificates, EC keys, common names. Not exported. */
public final class Pem {
  private Pem() {}

  /**
   * The first certificate in {@code file}.
   *
   * @param file a PEM file of one or more certificates
   * @return its first certificate
   * @throws IOException when the file cannot be read
   * @throws GeneralSecurityException when it holds no certificate or a malformed one
   */
  public static X509Certificate firstCertificate(Path file)
      throws IOException, GeneralSecurityException {
    try (InputStream in = Files.newInputStream(file)) {
      Collection<? extends java.security.cert.Certificate> all =
          CertificateFactory.getInstance("X.509").generateCertificates(in);
      if (all.isEmpty()) {
        throw new GeneralSecurityException(file + ": no certificate");
      }
      return (X509Certificate) all.iterator().next();
    }
  }

  /**
   * An unencrypted PKCS#8 EC private key.
   *
   * @param file the PEM file
   * @return the key
   * @throws IOException when the file cannot be read
   * @throws GeneralSecurityException when it is not an EC key
   * @throws IllegalArgumentException when its body is not Base64
   */
  public static PrivateKey ecKey(Path file) throws IOException, GeneralSecurityException {
    String pem =
        Files.readString(file, StandardCharsets.US_ASCII)
            .replaceAll("-----[A-Z ]+-----", "")
            .replaceAll("\\s", "");
    return KeyFactory.getInstance("EC")
        .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(pem)));
  }

  /**
   * The subject's common name, the identity a certificate stands for.
   *
   * @param certificate the certificate
   * @return its subject's CN, if it has one
   */
  public static Optional<String> commonName(X509Certificate certificate) {
    try {
      for (Rdn rdn : new LdapName(certificate.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.getType().equalsIgnoreCase("CN")) {
          return Optional.of(String.valueOf(rdn.getValue()));
        }
      }
    } catch (InvalidNameException e) {
      return Optional.empty();
    }
    return Optional.empty();
  }
}
