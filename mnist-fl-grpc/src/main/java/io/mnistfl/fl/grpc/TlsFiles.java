package io.mnistfl.fl.grpc;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * One side's TLS material, in PEM files: its certificate chain, its private key (PKCS#8, e.g. an EC
 * key) and the certificate authority it trusts for the other side. The server trusts the CA that
 * signed the sites' certificates; a site trusts the CA that signed the server's.
 *
 * @param certificateChain this side's certificate, then any intermediates
 * @param privateKey this side's private key, unencrypted PKCS#8
 * @param trustedCa the CA certificate the other side's certificate must chain to
 */
public record TlsFiles(Path certificateChain, Path privateKey, Path trustedCa) {

  /**
   * Checks that the three files exist.
   *
   * @param certificateChain this side's certificate, then any intermediates
   * @param privateKey this side's private key
   * @param trustedCa the CA certificate the other side's must chain to
   */
  public TlsFiles {
    for (Path p :
        new Path[] {
          Objects.requireNonNull(certificateChain, "certificateChain"),
          Objects.requireNonNull(privateKey, "privateKey"),
          Objects.requireNonNull(trustedCa, "trustedCa")
        }) {
      if (!Files.isRegularFile(p)) {
        throw new IllegalArgumentException(p + ": no such file");
      }
    }
  }
}
