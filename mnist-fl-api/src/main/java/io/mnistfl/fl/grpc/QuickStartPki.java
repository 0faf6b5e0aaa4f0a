package io.mnistfl.fl.grpc;

import io.mnistfl.internal.Pem;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.List;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A certificate authority and certificates for a first federation, made with BouncyCastle: a CA, a
 * server certificate for the names sites will dial, one certificate per site (or per simulation
 * host, granted a range of site ids), and the allow-list. Keys are EC P-256 in PKCS#8 PEM; files
 * are laid out as {@link Layout} says. Organisations with their own PKI make the same files with
 * their tools (the README gives the openssl commands).
 */
public final class QuickStartPki {
  private static final Pattern IP = Pattern.compile("[0-9.]+|[0-9a-fA-F:]+");
  private static final Duration VALIDITY = Duration.ofDays(397);

  private QuickStartPki() {}

  /**
   * Where the files lie in a folder made by {@link #create}.
   *
   * @param dir the folder
   */
  public record Layout(Path dir) {
    /**
     * The CA's certificate, which both sides trust.
     *
     * @return the path
     */
    public Path caCertificate() {
      return dir.resolve("ca.pem");
    }

    /**
     * The allow-list of site certificates.
     *
     * @return the path
     */
    public Path allowList() {
      return dir.resolve("allowlist.txt");
    }

    /**
     * The server's certificate, key and the CA of the sites.
     *
     * @return the files
     */
    public TlsFiles server() {
      return new TlsFiles(dir.resolve("server.pem"), dir.resolve("server.key"), caCertificate());
    }

    /**
     * A site's (or a simulation host's) certificate, key and the CA of the server.
     *
     * @param name the site id or host name its certificate was made for
     * @return the files
     */
    public TlsFiles site(String name) {
      return new TlsFiles(
          dir.resolve("sites").resolve(name + ".pem"),
          dir.resolve("sites").resolve(name + ".key"),
          caCertificate());
    }
  }

  /**
   * Makes a CA, a server certificate valid for {@code serverNames} (host names or IP addresses), a
   * certificate per site id, and an allow-list granting each site its own id.
   *
   * @param dir the folder to write into (created)
   * @param serverNames the names sites dial the server by
   * @param siteIds the sites
   * @return the layout
   * @throws IOException when a file cannot be written
   */
  public static Layout create(Path dir, List<String> serverNames, List<String> siteIds)
      throws IOException {
    Files.createDirectories(dir.resolve("sites"));
    try {
      KeyPair ca = ecKeys();
      X500Name caName = new X500Name("CN=mnist-fl federation CA");
      X509Certificate caCert = sign(caName, ca, caName, ca.getPublic(), true, List.of(), null);
      writePem(dir.resolve("ca.pem"), caCert);
      writeKey(dir.resolve("ca.key"), ca.getPrivate());
      KeyPair server = ecKeys();
      writePem(
          dir.resolve("server.pem"),
          sign(
              caName,
              ca,
              new X500Name("CN=" + serverNames.get(0)),
              server.getPublic(),
              false,
              serverNames,
              KeyPurposeId.id_kp_serverAuth));
      writeKey(dir.resolve("server.key"), server.getPrivate());
      StringBuilder allow =
          new StringBuilder(
              "# certificate name, then the site ids it may serve" + " (none: its own name)\n");
      for (String id : siteIds) {
        site(dir, caName, ca, id);
        allow.append(id).append('\n');
      }
      Files.writeString(dir.resolve("allowlist.txt"), allow, StandardCharsets.UTF_8);
      return new Layout(dir);
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IOException("cannot make the certificates: " + e.getMessage(), e);
    }
  }

  /**
   * Adds a certificate for a simulation host named {@code name}, and grants it the site ids of
   * {@code range} (e.g. {@code client-000..client-499}) in the allow-list.
   *
   * @param dir a folder made by {@link #create}
   * @param name the host's certificate name
   * @param range the site ids it serves
   * @return the layout
   * @throws IOException when the CA cannot be read or a file written
   */
  public static Layout addHost(Path dir, String name, String range) throws IOException {
    try {
      Layout layout = new Layout(dir);
      X509Certificate caCert = Pem.firstCertificate(layout.caCertificate());
      PrivateKey caKey = Pem.ecKey(dir.resolve("ca.key"));
      KeyPair ca = new KeyPair(caCert.getPublicKey(), caKey);
      site(dir, new X509CertificateHolder(caCert.getEncoded()).getSubject(), ca, name);
      Files.writeString(
          layout.allowList(),
          name + " " + range + "\n",
          StandardCharsets.UTF_8,
          java.nio.file.StandardOpenOption.APPEND);
      return layout;
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IOException("cannot make the certificate: " + e.getMessage(), e);
    }
  }

  private static void site(Path dir, X500Name caName, KeyPair ca, String id)
      throws IOException, GeneralSecurityException, OperatorCreationException {
    if (!AllowList.ID.matcher(id).matches()) {
      throw new IllegalArgumentException("not a site id (letters, digits, '.', '_', '-'): " + id);
    }
    KeyPair site = ecKeys();
    writePem(
        dir.resolve("sites").resolve(id + ".pem"),
        sign(
            caName,
            ca,
            new X500Name("CN=" + id),
            site.getPublic(),
            false,
            List.of(),
            KeyPurposeId.id_kp_clientAuth));
    writeKey(dir.resolve("sites").resolve(id + ".key"), site.getPrivate());
  }

  private static KeyPair ecKeys() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
    return g.generateKeyPair();
  }

  private static X509Certificate sign(
      X500Name issuer,
      KeyPair issuerKeys,
      X500Name subject,
      java.security.PublicKey key,
      boolean ca,
      List<String> names,
      KeyPurposeId purpose)
      throws IOException, GeneralSecurityException, OperatorCreationException {
    Instant now = Instant.now();
    JcaX509v3CertificateBuilder b =
        new JcaX509v3CertificateBuilder(
            issuer,
            new BigInteger(127, new SecureRandom()),
            Date.from(now.minus(Duration.ofMinutes(5))),
            Date.from(now.plus(VALIDITY)),
            subject,
            key);
    JcaX509ExtensionUtils utils = new JcaX509ExtensionUtils();
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
    b.addExtension(Extension.subjectKeyIdentifier, false, utils.createSubjectKeyIdentifier(key));
    b.addExtension(
        Extension.keyUsage,
        true,
        new KeyUsage(ca ? KeyUsage.keyCertSign | KeyUsage.cRLSign : KeyUsage.digitalSignature));
    if (purpose != null) {
      b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
    }
    if (!names.isEmpty()) {
      List<GeneralName> alt = new ArrayList<>();
      for (String n : names) {
        boolean ip = IP.matcher(n).matches() && InetAddress.getByName(n) != null;
        alt.add(new GeneralName(ip ? GeneralName.iPAddress : GeneralName.dNSName, n));
      }
      b.addExtension(
          Extension.subjectAlternativeName,
          false,
          new GeneralNames(alt.toArray(GeneralName[]::new)));
    }
    return new JcaX509CertificateConverter()
        .getCertificate(
            b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(issuerKeys.getPrivate())));
  }

  private static void writePem(Path file, Object value) throws IOException {
    StringWriter text = new StringWriter();
    try (JcaPEMWriter pem = new JcaPEMWriter(text)) {
      pem.writeObject(value);
    }
    Files.writeString(file, text.toString(), StandardCharsets.US_ASCII);
  }

  /** An unencrypted PKCS#8 PEM key, readable by its owner only where the file system allows. */
  private static void writeKey(Path file, PrivateKey key) throws IOException {
    String pem =
        "-----BEGIN PRIVATE KEY-----\n"
            + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(key.getEncoded())
            + "\n-----END PRIVATE KEY-----\n";
    Files.writeString(file, pem, StandardCharsets.US_ASCII);
    try {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system
    }
  }
}
