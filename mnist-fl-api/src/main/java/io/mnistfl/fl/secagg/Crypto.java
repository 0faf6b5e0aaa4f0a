package io.mnistfl.fl.secagg;

import io.mnistfl.model.Weights;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.XECPrivateKey;
import java.security.spec.NamedParameterSpec;
import java.security.spec.X509EncodedKeySpec;
import java.security.spec.XECPrivateKeySpec;
import javax.crypto.Cipher;
import javax.crypto.KeyAgreement;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The cryptography of secure aggregation, all from the JDK: X25519 key pairs and agreement,
 * HKDF-SHA256 on its HMAC, AES-GCM for shares in transit, AES-CTR as the mask generator and SHA-256
 * commitments and digests. Nothing here is a primitive of our own.
 */
final class Crypto {
  private static final int GCM_TAG_BITS = 128;
  private static final int NONCE_BYTES = 12;
  private static final VarHandle LITTLE_ENDIAN_INT =
      MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

  private Crypto() {}

  static KeyPair x25519(SecureRandom random) throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("X25519");
    g.initialize(NamedParameterSpec.X25519, random);
    return g.generateKeyPair();
  }

  /** A public key from its X.509 encoding, refused unless it is an X25519 key. */
  static PublicKey publicKey(byte[] encoded) throws GeneralSecurityException {
    if (encoded.length > 64) {
      throw new GeneralSecurityException("a public key of " + encoded.length + " bytes");
    }
    return KeyFactory.getInstance("X25519").generatePublic(new X509EncodedKeySpec(encoded));
  }

  /** The 32-byte scalar of an X25519 private key, the secret that is shared. */
  static byte[] scalar(PrivateKey key) {
    return ((XECPrivateKey) key).getScalar().orElseThrow().clone();
  }

  static PrivateKey privateKey(byte[] scalar) throws GeneralSecurityException {
    return KeyFactory.getInstance("X25519")
        .generatePrivate(new XECPrivateKeySpec(NamedParameterSpec.X25519, scalar));
  }

  /** HKDF-SHA256 of the X25519 agreement of {@code mine} and {@code theirs}. */
  static byte[] agree(PrivateKey mine, PublicKey theirs, byte[] salt, String info)
      throws GeneralSecurityException {
    return hkdf(raw(mine, theirs), salt, info);
  }

  /** HKDF-SHA256 of the X25519 agreement of {@code mine} and {@code theirs}, with binary info. */
  static byte[] agree(PrivateKey mine, PublicKey theirs, byte[] salt, byte[] info)
      throws GeneralSecurityException {
    return hkdf(raw(mine, theirs), salt, info);
  }

  /** The X25519 agreement itself; the JDK refuses a key of small order (an all-zero result). */
  private static byte[] raw(PrivateKey mine, PublicKey theirs) throws GeneralSecurityException {
    KeyAgreement a = KeyAgreement.getInstance("X25519");
    a.init(mine);
    a.doPhase(theirs, true);
    return a.generateSecret();
  }

  /**
   * What {@code key} agrees on with {@code probe}, a fresh private key: two public keys with one
   * fingerprint agree on the same secret with every private key (X25519 clamps private keys to
   * multiples of the cofactor 8, so a key differing from another only by a point of small order, or
   * by the encoding of the same point, agrees as that one does), while two keys that differ
   * otherwise share a fingerprint with negligible probability. Comparing the encodings would miss
   * such copies. Refuses a key of small order, as {@link #requireUsable} does.
   */
  static byte[] fingerprint(PrivateKey probe, PublicKey key) throws GeneralSecurityException {
    return raw(probe, key);
  }

  /**
   * Whether {@code candidate} is the private key of {@code advertised} (up to a point of small
   * order, which no agreement sees): X25519 commutes, so the candidate's agreement with the probe's
   * public key is the probe's agreement with the advertised key exactly when it is.
   */
  static boolean isPrivateKeyOf(PrivateKey candidate, PublicKey advertised, KeyPair probe)
      throws GeneralSecurityException {
    return MessageDigest.isEqual(
        raw(candidate, probe.getPublic()), raw(probe.getPrivate(), advertised));
  }

  /**
   * The SHA-256 digest of {@code weights}: each array's name, shape and values (their IEEE 754
   * bits, little-endian), in order. Sites sign it with the survivor set, so that a site reveals
   * nothing unless t of its neighbours trained from the very global weights it did.
   */
  static byte[] digest(Weights weights) {
    MessageDigest d = sha256();
    d.update(Body.signed("mnistfl-secagg-v3/weights", weights.arrays().size()));
    byte[] buffer = new byte[4 << 12];
    for (Weights.NamedArray a : weights.arrays()) {
      Body.Writer header = new Body.Writer(64).string(a.name());
      int[] shape = a.shape();
      header.i32(shape.length);
      for (int dim : shape) {
        header.i32(dim);
      }
      float[] v = a.values();
      d.update(header.i32(v.length).body());
      for (int from = 0; from < v.length; from += 1 << 12) {
        int n = Math.min(1 << 12, v.length - from);
        for (int i = 0; i < n; i++) {
          LITTLE_ENDIAN_INT.set(buffer, 4 * i, Float.floatToRawIntBits(v[from + i]));
        }
        d.update(buffer, 0, 4 * n);
      }
    }
    return d.digest();
  }

  /**
   * HKDF-SHA256 (RFC 5869) to 32 bytes, on the JDK's HMAC: extract a pseudorandom key with the
   * salt, then expand it with the info; one block of output needs one HMAC.
   */
  static byte[] hkdf(byte[] secret, byte[] salt, String info) throws GeneralSecurityException {
    return hkdf(secret, salt, info.getBytes(StandardCharsets.UTF_8));
  }

  static byte[] hkdf(byte[] secret, byte[] salt, byte[] info) throws GeneralSecurityException {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(salt.length == 0 ? new byte[32] : salt, "HmacSHA256"));
    byte[] prk = mac.doFinal(secret);
    mac.init(new SecretKeySpec(prk, "HmacSHA256"));
    mac.update(info);
    mac.update((byte) 1);
    return mac.doFinal();
  }

  static byte[] sha256(byte[]... parts) {
    MessageDigest d = sha256();
    for (byte[] p : parts) {
      d.update(p);
    }
    return d.digest();
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK always provides SHA-256", e);
    }
  }

  /** {@code nonce || AES-GCM(key, plaintext)} with {@code aad} authenticated. */
  static byte[] seal(byte[] key, byte[] plaintext, byte[] aad, SecureRandom random)
      throws GeneralSecurityException {
    byte[] nonce = new byte[NONCE_BYTES];
    random.nextBytes(nonce);
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(
        Cipher.ENCRYPT_MODE,
        new SecretKeySpec(key, "AES"),
        new GCMParameterSpec(GCM_TAG_BITS, nonce));
    c.updateAAD(aad);
    byte[] body = c.doFinal(plaintext);
    return ByteBuffer.allocate(NONCE_BYTES + body.length).put(nonce).put(body).array();
  }

  /** The plaintext of {@link #seal}; fails on any change to the ciphertext or the aad. */
  static byte[] open(byte[] key, byte[] sealed, byte[] aad) throws GeneralSecurityException {
    if (sealed.length < NONCE_BYTES + GCM_TAG_BITS / 8) {
      throw new GeneralSecurityException("a sealed share too short to hold its tag");
    }
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(
        Cipher.DECRYPT_MODE,
        new SecretKeySpec(key, "AES"),
        new GCMParameterSpec(GCM_TAG_BITS, sealed, 0, NONCE_BYTES));
    c.updateAAD(aad);
    return c.doFinal(sealed, NONCE_BYTES, sealed.length - NONCE_BYTES);
  }

  /**
   * Adds ({@code sign} +1) or subtracts (−1) the mask expanded from {@code seed} to {@code values},
   * in 32-bit arithmetic modulo 2^32: AES-256 in counter mode from a zero counter, keyed by HKDF of
   * the seed, read as little-endian ints.
   */
  static void mask(int[] values, byte[] seed, String info, int sign)
      throws GeneralSecurityException {
    Cipher c = Cipher.getInstance("AES/CTR/NoPadding");
    c.init(
        Cipher.ENCRYPT_MODE,
        new SecretKeySpec(hkdf(seed, new byte[0], info), "AES"),
        new IvParameterSpec(new byte[16]));
    // Blocks that stay in the first-level cache; the JDK's AES-CTR runs on the CPU's AES units.
    int block = 1 << 12;
    byte[] zeros = new byte[4 * block];
    byte[] stream = new byte[4 * block];
    for (int from = 0; from < values.length; from += block) {
      int n = Math.min(block, values.length - from);
      c.update(zeros, 0, 4 * n, stream, 0);
      for (int i = 0; i < n; i++) {
        values[from + i] += sign * (int) LITTLE_ENDIAN_INT.get(stream, 4 * i);
      }
    }
  }

  /**
   * Refuses a public key no honest site could have made: one of small order, whose agreement with
   * any key is fixed (the JDK refuses it when agreeing with {@code probe}, a key of ours).
   */
  static void requireUsable(PrivateKey probe, PublicKey key) throws GeneralSecurityException {
    raw(probe, key);
  }
}
