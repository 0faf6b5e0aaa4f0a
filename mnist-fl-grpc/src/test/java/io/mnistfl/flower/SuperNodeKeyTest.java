package io.mnistfl.flower;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SuperNode keys and the authentication headers, against what Flower's side (Python's cryptography,
 * through the kit's keys.py) makes of the same keys: src/test/resources/…/keys.
 */
class SuperNodeKeyTest {
  @TempDir Path dir;

  Path copy(String name) throws IOException {
    Path file = dir.resolve(name);
    try (InputStream in = getClass().getResourceAsStream("keys/" + name)) {
      Files.write(file, in.readAllBytes());
    }
    return file;
  }

  String golden(String name) throws IOException {
    try (InputStream in = getClass().getResourceAsStream("keys/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.US_ASCII).strip();
    }
  }

  @Test
  void theOpenSshFormIsTheOneFlowersRegisterReads() throws IOException {
    assertThat(SuperNodeKey.read(copy("java-p384.pem")).openSshPublicKey())
        .isEqualTo(golden("java-p384.ssh"));
    assertThat(SuperNodeKey.read(copy("openssl-p384.pem")).openSshPublicKey())
        .isEqualTo(golden("openssl-p384.ssh"));
  }

  @Test
  void thePublicPemIsByteForByteTheOneStoredInTheFile() throws IOException {
    String file = Files.readString(copy("java-p384.pem"));
    SuperNodeKey key = SuperNodeKey.read(dir.resolve("java-p384.pem"));
    String pem = key.publicKeyPem();
    assertThat(file).endsWith(pem);
    assertThat(pem)
        .startsWith("-----BEGIN PUBLIC KEY-----\n")
        .endsWith("-----END PUBLIC KEY-----\n");
    for (String line : pem.split("\n")) {
      assertThat(line.length()).isLessThanOrEqualTo(64);
    }
    // The OpenSSL key embeds its public key: the same PEM as an OpenSSL -pubout would give.
    assertThat(SuperNodeKey.read(copy("openssl-p384.pem")).publicKeyPem()).hasSize(pem.length());
  }

  @Test
  void aWrittenKeyReadsBackAndIsTheOwnersOnly() throws IOException {
    SuperNodeKey key = SuperNodeKey.generate();
    Path file = dir.resolve("k/site.pem");
    key.write(file);
    assertThat(SuperNodeKey.read(file)).isEqualTo(key);
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    assertThatThrownBy(() -> key.write(file)).isInstanceOf(IOException.class);
    assertThat(key.toString()).startsWith("SuperNodeKey[nistp384, ");
  }

  @Test
  void unusableKeyFilesAreRefusedNamingTheFileAndWhy() throws IOException {
    Path publicOnly = dir.resolve("public.pem");
    Files.writeString(publicOnly, SuperNodeKey.generate().publicKeyPem());
    assertThatThrownBy(() -> SuperNodeKey.read(publicOnly))
        .hasMessage(publicOnly + ": no PKCS#8 private key (-----BEGIN PRIVATE KEY-----)");
    Path sec1 = dir.resolve("sec1.pem");
    Files.writeString(sec1, "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n");
    assertThatThrownBy(() -> SuperNodeKey.read(sec1)).hasMessageContaining("openssl pkcs8 -topk8");
    Path openSsh = dir.resolve("openssh");
    Files.writeString(
        openSsh, "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n");
    assertThatThrownBy(() -> SuperNodeKey.read(openSsh))
        .hasMessageContaining("ssh-keygen -p -N '' -m PKCS8 -f COPY");
    String java = Files.readString(copy("java-p384.pem"));
    String privatePart = java.substring(0, java.indexOf("-----BEGIN PUBLIC KEY-----"));
    Path mismatched = dir.resolve("mismatched.pem");
    Files.writeString(mismatched, privatePart + SuperNodeKey.generate().publicKeyPem());
    assertThatThrownBy(() -> SuperNodeKey.read(mismatched))
        .hasMessage(mismatched + ": its public key is not the private key's");
    Path noPublic = dir.resolve("nopublic.pem");
    Files.writeString(noPublic, privatePart);
    assertThatThrownBy(() -> SuperNodeKey.read(noPublic))
        .hasMessageContaining("holds no public key");
    Path huge = dir.resolve("huge.pem");
    Files.write(huge, new byte[1 << 20]);
    assertThatThrownBy(() -> SuperNodeKey.read(huge))
        .hasMessageContaining("larger than a key file");
  }

  @Test
  void everyCallIsSignedOverAPythonStyleTimestampHalfAMinuteBack() throws Exception {
    SuperNodeKey key = SuperNodeKey.read(copy("java-p384.pem"));
    Clock clock = Clock.fixed(Instant.parse("2026-01-31T12:00:30.5Z"), ZoneOffset.UTC);
    NodeAuth auth = new NodeAuth(key, clock);
    String ts = auth.timestamp();
    assertThat(ts).isEqualTo("2026-01-31T12:00:00.500000+00:00");
    byte[] signature = key.sign(ts.getBytes(StandardCharsets.US_ASCII));
    String b64 = key.publicKeyPem().replaceAll("-----[A-Z ]+-----", "").replace("\n", "");
    PublicKey pub =
        KeyFactory.getInstance("EC")
            .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(b64)));
    Signature v = Signature.getInstance("SHA256withECDSA");
    v.initVerify(pub);
    v.update(ts.getBytes(StandardCharsets.US_ASCII));
    assertThat(v.verify(signature)).isTrue();
  }
}
