package io.mnistfl.fl.grpc;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Function;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The server's trust in sites' certificates: the JDK's checks against the federation's CA, then
 * admission's (a certificate must be on the allow-list and not revoked), so that an unlisted or
 * revoked certificate is refused at connect, before a single call. Every refusal is reported as a
 * server event before the handshake fails, so that an operator sees who knocked.
 */
final class ReportingTrust extends X509ExtendedTrustManager {
  private final X509ExtendedTrustManager base;
  private final BiConsumer<String, String> refused;
  private final Function<X509Certificate, Optional<String>> admission;

  private ReportingTrust(
      X509ExtendedTrustManager base,
      BiConsumer<String, String> refused,
      Function<X509Certificate, Optional<String>> admission) {
    this.base = base;
    this.refused = refused;
    this.admission = admission;
  }

  /**
   * Trust in the certificates of {@code caFile} that {@code admission} has no refusal for,
   * reporting refusals to {@code refused}.
   */
  static ReportingTrust of(
      Path caFile,
      BiConsumer<String, String> refused,
      Function<X509Certificate, Optional<String>> admission)
      throws IOException {
    try (InputStream in = Files.newInputStream(caFile)) {
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        store.setCertificateEntry("ca-" + i++, c);
      }
      if (i == 0) {
        throw new IOException(caFile + ": no certificate");
      }
      TrustManagerFactory f =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      f.init(store);
      for (TrustManager m : f.getTrustManagers()) {
        if (m instanceof X509ExtendedTrustManager x) {
          return new ReportingTrust(x, refused, admission);
        }
      }
      throw new IOException("the JDK offers no X.509 trust manager");
    } catch (GeneralSecurityException e) {
      throw new IOException(caFile + ": " + e.getMessage(), e);
    }
  }

  private static String who(X509Certificate[] chain) {
    return chain == null || chain.length == 0
        ? "a peer without a certificate"
        : "a peer presenting " + chain[0].getSubjectX500Principal().getName();
  }

  private void report(X509Certificate[] chain, CertificateException e) {
    refused.accept(
        who(chain), "its certificate is not from the federation's CA (" + e.getMessage() + ")");
  }

  /** Refuses a certificate the CA signed that admission does not allow. */
  private void admit(X509Certificate[] chain) throws CertificateException {
    Optional<String> no = admission.apply(chain[0]);
    if (no.isPresent()) {
      refused.accept(who(chain), no.get() + "; refused at connect");
      throw new CertificateException(no.get());
    }
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    try {
      base.checkClientTrusted(chain, authType, socket);
    } catch (CertificateException e) {
      report(chain, e);
      throw e;
    }
    admit(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    try {
      base.checkClientTrusted(chain, authType, engine);
    } catch (CertificateException e) {
      report(chain, e);
      throw e;
    }
    admit(chain);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    try {
      base.checkClientTrusted(chain, authType);
    } catch (CertificateException e) {
      report(chain, e);
      throw e;
    }
    admit(chain);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    base.checkServerTrusted(chain, authType, socket);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    base.checkServerTrusted(chain, authType, engine);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    base.checkServerTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return base.getAcceptedIssuers();
  }
}
