package io.mnistfl.fl.secagg;

import io.mnistfl.fl.site.ClientRuntime;
import io.mnistfl.internal.Pem;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Identities from the federation's PKI, for secure aggregation over gRPC: a site signs with the EC
 * key of its TLS certificate and presents the certificate; a verifier accepts a certificate that
 * chains to the CA, is valid now, is issued for client authentication (where it says) and names the
 * site as its common name.
 */
public final class CertificateIdentities {
  private static final String CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
  private static final int MAX_CACHED = 100_000;

  private CertificateIdentities() {}

  /**
   * The identity of the site whose certificate and key these are (its certificate's common name),
   * e.g. the files it connects with over TLS.
   *
   * @param certificate the site's certificate (PEM; the first one is the site's)
   * @param privateKey its EC private key (PKCS#8 PEM)
   * @return the identity
   * @throws IOException when a file cannot be read
   */
  public static SiteIdentity site(Path certificate, Path privateKey) throws IOException {
    try {
      X509Certificate cert = Pem.firstCertificate(certificate);
      PrivateKey key = Pem.ecKey(privateKey);
      String id = commonName(cert);
      return new EcIdentity(id, cert.getEncoded(), key);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException(
          privateKey
              + ": not an EC key in PKCS#8 PEM, or its"
              + " certificate cannot be read ("
              + e.getMessage()
              + ")",
          e);
    }
  }

  /**
   * {@code runtime}, also answering secure aggregation: it signs with the key of its certificate
   * (e.g. the files it connects with over TLS) and checks its neighbours' certificates with {@code
   * verifier}. The one call a site needs; the sites of one process share one verifier.
   *
   * @param runtime the site's runtime
   * @param certificate the site's certificate (PEM), whose common name is its id
   * @param privateKey its EC private key (PKCS#8 PEM)
   * @param verifier the check of the other sites' certificates, from {@link #verifier(Path)}
   * @return the runtime with secure aggregation's stages
   * @throws IOException when a file cannot be read, or the certificate names another site
   */
  public static ClientRuntime secure(
      ClientRuntime runtime, Path certificate, Path privateKey, IdentityVerifier verifier)
      throws IOException {
    SiteIdentity identity = site(certificate, privateKey);
    if (!identity.siteId().equals(runtime.siteId())) {
      throw new IOException(
          certificate
              + " names site "
              + identity.siteId()
              + ", not "
              + runtime.siteId()
              + ", whose runtime it was given");
    }
    return runtime.withStages(SecAggSite.of(identity, verifier));
  }

  /**
   * The site id a certificate stands for: its subject's common name, which is what the server takes
   * as the site's identity.
   *
   * @param certificate a PEM file whose first certificate is the site's
   * @return the common name
   * @throws IOException naming the file when it holds no readable certificate or one without a
   *     common name
   */
  public static String siteId(Path certificate) throws IOException {
    try {
      return commonName(Pem.firstCertificate(certificate));
    } catch (GeneralSecurityException e) {
      throw new IOException(certificate + ": " + e.getMessage(), e);
    }
  }

  /**
   * A verifier of certificates issued by the CA in {@code caFile}. The sites of one JVM (a
   * simulation host) share one verifier, which checks each certificate and signature once.
   *
   * @param caFile the CA certificate (PEM)
   * @return the verifier
   * @throws IOException when the file cannot be read
   */
  public static IdentityVerifier verifier(Path caFile) throws IOException {
    X509Certificate ca;
    try {
      ca = Pem.firstCertificate(caFile);
    } catch (GeneralSecurityException e) {
      throw new IOException(caFile + ": " + e.getMessage(), e);
    }
    Map<String, X509Certificate> checked = new ConcurrentHashMap<>();
    VerifiedSignatures verified = new VerifiedSignatures();
    return (siteId, credential, message, signature) -> {
      if (credential.length > 16 << 10) {
        throw new GeneralSecurityException("a certificate of " + credential.length + " bytes");
      }
      // The chain is checked once per certificate; its validity and name every time.
      String key = HexFormat.of().formatHex(Crypto.sha256(credential));
      X509Certificate cert = checked.get(key);
      if (cert == null) {
        cert =
            (X509Certificate)
                CertificateFactory.getInstance("X.509")
                    .generateCertificate(new java.io.ByteArrayInputStream(credential));
        cert.verify(ca.getPublicKey());
        List<String> purposes = cert.getExtendedKeyUsage();
        if (purposes != null && !purposes.contains(CLIENT_AUTH)) {
          throw new GeneralSecurityException(
              "a certificate of "
                  + commonName(cert)
                  + " not issued to a site (no clientAuth purpose)");
        }
        if (checked.size() < MAX_CACHED) {
          checked.put(key, cert);
        }
      }
      cert.checkValidity();
      if (!siteId.equals(commonName(cert))) {
        throw new GeneralSecurityException(
            "a certificate of " + commonName(cert) + ", not of " + siteId);
      }
      X509Certificate signer = cert;
      verified.check(
          siteId,
          credential,
          message,
          signature,
          () -> EcIdentity.verify(signer.getPublicKey(), message, signature));
    };
  }

  private static String commonName(X509Certificate cert) throws GeneralSecurityException {
    return Pem.commonName(cert)
        .orElseThrow(() -> new GeneralSecurityException("a certificate without a common name"));
  }
}
