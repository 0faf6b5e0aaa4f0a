package io.mnistfl.fl.http;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A secret that a federation's server and its clients share. With it, {@link HttpTransport} and
 * {@link ClientEndpoint} sign every body with HMAC-SHA256 in the {@value #HEADER} header, and
 * each side refuses bytes whose signature is missing or wrong: a site trains only for its
 * server, and the server aggregates only updates from sites that hold the key, each bound to
 * the request it answers. It authenticates, it does not hide: carry the bytes over {@code https}
 * (e.g. behind a reverse proxy) where they must stay private.
 */
public final class SharedKey {
  /** The HTTP header that carries a signature, as {@code sha256=<hex>}. */
  public static final String HEADER = "X-Mnist-Fl-Signature";
  static final int MIN_BYTES = 16;

  private final SecretKeySpec key;

  private SharedKey(byte[] secret) {
    this.key = new SecretKeySpec(secret, "HmacSHA256");
  }

  /** A key from at least 16 secret bytes. */
  public static SharedKey of(byte[] secret) {
    if (secret.length < MIN_BYTES) {
      throw new IllegalArgumentException("a shared key needs at least " + MIN_BYTES
          + " bytes, was " + secret.length);
    }
    return new SharedKey(secret.clone());
  }

  /**
   * The key in {@code file}: its text without surrounding white space, at least 16 bytes (e.g.
   * the output of {@code openssl rand -hex 32}).
   */
  public static SharedKey read(Path file) throws IOException {
    byte[] secret = Files.readString(file, StandardCharsets.UTF_8).strip()
        .getBytes(StandardCharsets.UTF_8);
    if (secret.length < MIN_BYTES) {
      throw new IOException(file + ": a shared key needs at least " + MIN_BYTES
          + " bytes, the file holds " + secret.length);
    }
    return new SharedKey(secret);
  }

  /** The signature of a request body sent to {@code path} ({@code fit} or {@code evaluate}). */
  String signRequest(String path, byte[] body) {
    return sign(("request " + path).getBytes(StandardCharsets.UTF_8), body);
  }

  /** The signature of a response body, bound to the request body it answers. */
  String signResponse(byte[] request, byte[] body) {
    return sign(sha256(request), body);
  }

  /** Whether {@code signature}, as sent, matches {@code expected}, in constant time. */
  static boolean matches(Optional<String> signature, String expected) {
    return signature.isPresent() && MessageDigest.isEqual(
        signature.get().getBytes(StandardCharsets.US_ASCII),
        expected.getBytes(StandardCharsets.US_ASCII));
  }

  private String sign(byte[] context, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      mac.update(context);
      mac.update((byte) 0);
      return "sha256=" + HexFormat.of().formatHex(mac.doFinal(body));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }

  private static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  /** Never shows the secret. */
  @Override
  public String toString() {
    return "SharedKey(HMAC-SHA256)";
  }
}
