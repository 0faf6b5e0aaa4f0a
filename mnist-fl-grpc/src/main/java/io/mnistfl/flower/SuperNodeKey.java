package io.mnistfl.flower;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A SuperNode's identity for Flower's SuperNode authentication: an EC key pair (NIST P-384 as
 * Flower makes them; P-256 and P-521 are read too). The SuperLink knows a node by its public key,
 * registered beforehand with {@code flwr supernode register} (which takes {@link
 * #openSshPublicKey()}); the node signs a timestamp with the private key on every call.
 *
 * <p>{@link #write} stores the private key as PKCS#8 PEM followed by the public key as PEM, owner
 * readable only. {@link #read} takes that, or a PKCS#8 key made by OpenSSL ({@code openssl genpkey
 * -algorithm EC -pkeyopt ec_paramgen_curve:P-384}, which embeds the public key), such as {@code
 * ssh-keygen -p -N '' -m PKCS8} makes of an OpenSSH key.
 */
public final class SuperNodeKey {
  private static final Pattern PEM =
      Pattern.compile("-----BEGIN ([A-Z ]+)-----\\s*([A-Za-z0-9+/=\\s]+?)-----END \\1-----");

  /** The largest key file read. */
  private static final int MAX_FILE_BYTES = 64 << 10;

  private final ECPrivateKey privateKey;
  private final ECPublicKey publicKey;

  private SuperNodeKey(ECPrivateKey privateKey, ECPublicKey publicKey) {
    this.privateKey = privateKey;
    this.publicKey = publicKey;
  }

  /**
   * A fresh P-384 key pair, as Flower's own SuperNode makes when it has none.
   *
   * @return the key
   */
  public static SuperNodeKey generate() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp384r1"));
      KeyPair pair = g.generateKeyPair();
      return new SuperNodeKey((ECPrivateKey) pair.getPrivate(), (ECPublicKey) pair.getPublic());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK cannot make P-384 keys", e);
    }
  }

  /**
   * Reads a key written by {@link #write}, or an OpenSSL PKCS#8 EC key.
   *
   * @param file the PEM file
   * @return the key
   * @throws IOException naming the file when it cannot be read, holds no PKCS#8 EC private key,
   *     holds no public key, or holds a public key that is not the private key's
   */
  public static SuperNodeKey read(Path file) throws IOException {
    if (Files.size(file) > MAX_FILE_BYTES) {
      throw new IOException(file + ": larger than a key file (" + MAX_FILE_BYTES + " bytes)");
    }
    String text = Files.readString(file, StandardCharsets.US_ASCII);
    byte[] pkcs8 = null;
    byte[] spki = null;
    Matcher m = PEM.matcher(text);
    while (m.find()) {
      byte[] der;
      try {
        der = Base64.getMimeDecoder().decode(m.group(2));
      } catch (IllegalArgumentException e) {
        throw new IOException(file + ": malformed base64 in its " + m.group(1) + " block");
      }
      switch (m.group(1)) {
        case "PRIVATE KEY" -> pkcs8 = der;
        case "PUBLIC KEY" -> spki = der;
        case "EC PRIVATE KEY" ->
            throw new IOException(
                file
                    + ": an EC PRIVATE KEY (SEC 1) block; convert it to PKCS#8: openssl pkcs8"
                    + " -topk8 -nocrypt -in KEY -out KEY.pem");
        case "OPENSSH PRIVATE KEY" ->
            throw new IOException(
                file
                    + ": an OpenSSH private key (as Flower's own SuperNode reads); convert a copy"
                    + " to PKCS#8: ssh-keygen -p -N '' -m PKCS8 -f COPY");
        case "ENCRYPTED PRIVATE KEY" ->
            throw new IOException(
                file + ": an encrypted key; decrypt it: openssl pkcs8 -in KEY -out KEY.pem");
        default -> {
          // certificates and the like: not ours
        }
      }
    }
    if (pkcs8 == null) {
      throw new IOException(file + ": no PKCS#8 private key (-----BEGIN PRIVATE KEY-----)");
    }
    try {
      KeyFactory ec = KeyFactory.getInstance("EC");
      ECPrivateKey priv;
      try {
        priv = (ECPrivateKey) ec.generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
      } catch (ClassCastException e) {
        throw new IOException(file + ": the private key is not an EC key");
      }
      ECPublicKey pub;
      if (spki != null) {
        pub = (ECPublicKey) ec.generatePublic(new X509EncodedKeySpec(spki));
      } else {
        byte[] point = Der.embeddedPublicKey(pkcs8);
        if (point == null) {
          throw new IOException(
              file
                  + ": holds no public key (neither a PUBLIC KEY block nor one inside the"
                  + " private key)");
        }
        pub =
            (ECPublicKey)
                ec.generatePublic(new ECPublicKeySpec(decodePoint(point, priv), priv.getParams()));
      }
      SuperNodeKey key = new SuperNodeKey(priv, pub);
      key.curveName();
      byte[] probe = "mnist-fl key check".getBytes(StandardCharsets.US_ASCII);
      Signature v = Signature.getInstance("SHA256withECDSA");
      v.initVerify(pub);
      v.update(probe);
      if (!v.verify(key.sign(probe))) {
        throw new IOException(file + ": its public key is not the private key's");
      }
      return key;
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException(file + ": not a usable EC key: " + Text.oneLine(e));
    }
  }

  private static ECPoint decodePoint(byte[] point, ECPrivateKey priv) throws IOException {
    int size = (priv.getParams().getCurve().getField().getFieldSize() + 7) / 8;
    if (point.length != 1 + 2 * size || point[0] != 4) {
      throw new IOException("the embedded public key is not an uncompressed point");
    }
    return new ECPoint(
        new BigInteger(1, Arrays.copyOfRange(point, 1, 1 + size)),
        new BigInteger(1, Arrays.copyOfRange(point, 1 + size, point.length)));
  }

  /**
   * Writes the private key (PKCS#8 PEM) and the public key (PEM) to {@code file}, readable by its
   * owner only; refuses to overwrite.
   *
   * @param file the file to create
   * @throws IOException when it exists or cannot be written
   */
  public void write(Path file) throws IOException {
    String text = pem("PRIVATE KEY", privateKey.getEncoded()) + publicKeyPem();
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    try {
      Files.createFile(
          file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(file);
    }
    Files.writeString(file, text, StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
  }

  /**
   * The public key as PEM SubjectPublicKeyInfo, byte for byte as Flower (Python's cryptography)
   * writes it: 64-character base64 lines, {@code \n} line ends, a final newline. The SuperLink
   * finds a registered node by these exact bytes.
   *
   * @return the PEM text
   */
  public String publicKeyPem() {
    return pem("PUBLIC KEY", publicKey.getEncoded());
  }

  /**
   * The public key in OpenSSH's one-line form, {@code ecdsa-sha2-nistp384 AAAA…}, which {@code flwr
   * supernode register KEY.pub} reads.
   *
   * @return the line, without a newline
   */
  public String openSshPublicKey() {
    String name = curveName();
    String type = "ecdsa-sha2-" + name;
    ByteArrayOutputStream blob = new ByteArrayOutputStream();
    sshString(blob, type.getBytes(StandardCharsets.US_ASCII));
    sshString(blob, name.getBytes(StandardCharsets.US_ASCII));
    sshString(blob, uncompressedPoint());
    return type + " " + Base64.getEncoder().encodeToString(blob.toByteArray());
  }

  /**
   * The first 16 hex digits of the SHA-256 of the public key's DER encoding: a short name for it.
   *
   * @return the fingerprint
   */
  public String fingerprint() {
    return FlowerObject.id(publicKey.getEncoded()).substring(0, 16);
  }

  /** nistp256, nistp384 or nistp521. */
  private String curveName() {
    int bits = publicKey.getParams().getCurve().getField().getFieldSize();
    return switch (bits) {
      case 256 -> "nistp256";
      case 384 -> "nistp384";
      case 521 -> "nistp521";
      default ->
          throw new IllegalArgumentException(
              "a " + bits + "-bit curve is not a NIST curve Flower accepts");
    };
  }

  private byte[] uncompressedPoint() {
    int size = (publicKey.getParams().getCurve().getField().getFieldSize() + 7) / 8;
    byte[] out = new byte[1 + 2 * size];
    out[0] = 4;
    fixed(publicKey.getW().getAffineX(), out, 1, size);
    fixed(publicKey.getW().getAffineY(), out, 1 + size, size);
    return out;
  }

  private static void fixed(BigInteger v, byte[] out, int at, int size) {
    byte[] b = v.toByteArray();
    int skip = b.length > size ? b.length - size : 0;
    System.arraycopy(b, skip, out, at + size - (b.length - skip), b.length - skip);
  }

  private static void sshString(ByteArrayOutputStream out, byte[] data) {
    out.write(data.length >>> 24);
    out.write(data.length >>> 16);
    out.write(data.length >>> 8);
    out.write(data.length);
    out.writeBytes(data);
  }

  /** {@code -----BEGIN …-----}, 64-character lines, {@code \n} ends, a final newline. */
  private static String pem(String label, byte[] der) {
    String b64 = Base64.getEncoder().encodeToString(der);
    StringBuilder s = new StringBuilder("-----BEGIN ").append(label).append("-----\n");
    for (int i = 0; i < b64.length(); i += 64) {
      s.append(b64, i, Math.min(b64.length(), i + 64)).append('\n');
    }
    return s.append("-----END ").append(label).append("-----\n").toString();
  }

  /** The PEM bytes the SuperLink matches, for the {@code flwr-public-key-bin} header. */
  byte[] publicKeyPemBytes() {
    return publicKeyPem().getBytes(StandardCharsets.US_ASCII);
  }

  /** ECDSA with SHA-256 (whatever the curve, as Flower signs), DER-encoded. */
  byte[] sign(byte[] data) {
    try {
      Signature s = Signature.getInstance("SHA256withECDSA");
      s.initSign(privateKey);
      s.update(data);
      return s.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot sign with the node's key", e);
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof SuperNodeKey k
        && Arrays.equals(k.publicKey.getEncoded(), publicKey.getEncoded());
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(publicKey.getEncoded());
  }

  @Override
  public String toString() {
    return "SuperNodeKey[" + curveName() + ", " + fingerprint() + "]";
  }

  /** Just enough DER to find the public key OpenSSL embeds in a PKCS#8 EC key. */
  private static final class Der {
    private final byte[] b;
    private int pos;
    private final int end;

    private Der(byte[] b, int pos, int end) {
      this.b = b;
      this.pos = pos;
      this.end = end;
    }

    /** Tag, then the content as its own reader; advances past it. */
    private Der next(int tag) throws IOException {
      if (pos + 2 > end || (b[pos] & 0xff) != tag) {
        throw new IOException("unexpected DER");
      }
      pos++;
      int len = b[pos++] & 0xff;
      if (len > 0x80) {
        int n = len - 0x80;
        if (n > 3 || pos + n > end) {
          throw new IOException("unexpected DER length");
        }
        len = 0;
        for (int i = 0; i < n; i++) {
          len = (len << 8) | (b[pos++] & 0xff);
        }
      } else if (len == 0x80) {
        throw new IOException("indefinite DER length");
      }
      if (pos + len > end) {
        throw new IOException("DER runs past its end");
      }
      Der content = new Der(b, pos, pos + len);
      pos += len;
      return content;
    }

    private boolean more() {
      return pos < end;
    }

    private int peek() {
      return b[pos] & 0xff;
    }

    private byte[] bytes() {
      return Arrays.copyOfRange(b, pos, end);
    }

    /** PrivateKeyInfo → OCTET STRING → ECPrivateKey → [1] BIT STRING, or null. */
    static byte[] embeddedPublicKey(byte[] pkcs8) {
      try {
        Der info = new Der(pkcs8, 0, pkcs8.length).next(0x30);
        info.next(0x02);
        info.next(0x30);
        Der ecKey = info.next(0x04).next(0x30);
        ecKey.next(0x02);
        ecKey.next(0x04);
        while (ecKey.more()) {
          if (ecKey.peek() == 0xa1) {
            byte[] bits = ecKey.next(0xa1).next(0x03).bytes();
            return bits.length > 1 && bits[0] == 0
                ? Arrays.copyOfRange(bits, 1, bits.length)
                : null;
          }
          ecKey.next(ecKey.peek());
        }
        return null;
      } catch (IOException e) {
        return null;
      }
    }
  }
}
