package io.mnistfl.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * `certs`: private key files, no second CA over the first, and a stolen key's certificate replaced.
 */
class CertsCommandTest {
  @TempDir Path work;

  static String fingerprint(Path pem) throws Exception {
    try (InputStream in = Files.newInputStream(pem)) {
      byte[] der = CertificateFactory.getInstance("X.509").generateCertificate(in).getEncoded();
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(der));
    }
  }

  static String mode(Path file) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(file));
  }

  @Test
  void aReissuedCertificateRevokesTheOldOneAndNothingIsWrittenOver() throws Exception {
    Path out = work.resolve("tls");
    assertThat(Main.commandLine().execute("certs", "--out", out.toString(), "--sites", "site-a"))
        .isZero();
    assertThat(mode(out)).isEqualTo("rwx------");
    assertThat(mode(out.resolve("sites/site-a.key"))).isEqualTo("rw-------");
    String old = fingerprint(out.resolve("sites/site-a.pem"));
    String ca = Files.readString(out.resolve("ca.key"));
    // Running it again over the folder would make a second CA: refused, the first kept.
    assertThat(Main.commandLine().execute("certs", "--out", out.toString(), "--sites", "site-b"))
        .isEqualTo(1);
    assertThat(Files.readString(out.resolve("ca.key"))).isEqualTo(ca);
    assertThat(Main.commandLine().execute("certs", "--out", out.toString(), "--reissue", "site-a"))
        .isZero();
    assertThat(Files.readString(out.resolve("allowlist.txt")))
        .contains("site-a\n")
        .contains("@revoked sha256:" + old + "\n");
    assertThat(fingerprint(out.resolve("sites/site-a.pem"))).isNotEqualTo(old);
    assertThat(mode(out.resolve("sites/site-a.key"))).isEqualTo("rw-------");
  }
}
