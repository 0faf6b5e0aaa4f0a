package io.mnistfl.fl.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.fl.secagg.CertificateIdentities;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The PKI's files read as hostile input: each bad one is refused once, naming the file. */
class CertificateIdentitiesTest {
  @TempDir static Path dir;
  static QuickStartPki.Layout pki;

  @BeforeAll
  static void pki() throws IOException {
    pki = QuickStartPki.create(dir.resolve("pki"), List.of("localhost"), List.of("site-a"));
  }

  @Test
  void aSitesIdIsItsCertificatesCommonName() throws IOException {
    TlsFiles files = pki.site("site-a");
    assertThat(CertificateIdentities.siteId(files.certificateChain())).isEqualTo("site-a");
    assertThat(CertificateIdentities.site(files.certificateChain(), files.privateKey()).siteId())
        .isEqualTo("site-a");
  }

  @Test
  void emptyTruncatedOrForeignCertificateFilesAreRefusedByName() throws IOException {
    byte[] pem = Files.readAllBytes(pki.site("site-a").certificateChain());
    Path empty = Files.write(dir.resolve("empty.pem"), new byte[0]);
    Path truncated = Files.write(dir.resolve("truncated.pem"), Arrays.copyOf(pem, pem.length / 2));
    Path key = pki.site("site-a").privateKey();
    for (Path bad : List.of(empty, truncated, key)) {
      assertThatThrownBy(() -> CertificateIdentities.siteId(bad))
          .isInstanceOf(IOException.class)
          .hasMessageStartingWith(bad.toString());
    }
  }

  @Test
  void aKeyThatIsNotAnEcKeyInPkcs8IsRefusedNamingTheKeyFile() throws IOException {
    TlsFiles good = pki.site("site-a");
    for (String body :
        List.of(
            "",
            "-----BEGIN PRIVATE KEY-----\n!!! not base64 !!!\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")) {
      Path key = Files.writeString(dir.resolve("bad.key"), body, StandardCharsets.US_ASCII);
      TlsFiles files = new TlsFiles(good.certificateChain(), key, good.trustedCa());
      assertThatThrownBy(
              () -> CertificateIdentities.site(files.certificateChain(), files.privateKey()))
          .isInstanceOf(IOException.class)
          .hasMessageStartingWith(key + ": not an EC key in PKCS#8 PEM");
    }
  }
}
