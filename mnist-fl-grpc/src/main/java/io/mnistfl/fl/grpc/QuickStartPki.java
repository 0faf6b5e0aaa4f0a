package io.mnistfl.fl.grpc;

import io.mnistfl.internal.Pem;
import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
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
import java.util.Set;
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
 * are laid out as {@link Layout} says. Every file is created new, never written over or through a
 * link; keys are created readable by their owner only (mode 600 on POSIX file systems) in folders
 * of mode 700. Organisations with their own PKI make the same files with their tools (the README
 * gives the openssl commands).
 */
public final class QuickStartPki {
  private static final Pattern IP = Pattern.compile("[0-9.]+|[0-9a-fA-F:]+");
  private static final boolean POSIX =
      FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
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
   * @param dir the folder to write into: a new one, or an empty one of mode 700
   * @param serverNames the names sites dial the server by
   * @param siteIds the sites
   * @return the layout
   * @throws IOException when a file cannot be written, exists already, or the folder is open to
   *     others
   */
  public static Layout create(Path dir, List<String> serverNames, List<String> siteIds)
      throws IOException {
    privateFolder(dir);
    privateFolder(dir.resolve("sites"));
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
      writeNew(dir.resolve("allowlist.txt"), allow.toString(), false);
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
      privateFolder(dir.resolve("sites"));
      X509Certificate caCert = Pem.firstCertificate(layout.caCertificate());
      PrivateKey caKey = Pem.ecKey(dir.resolve("ca.key"));
      KeyPair ca = new KeyPair(caCert.getPublicKey(), caKey);
      site(dir, new X509CertificateHolder(caCert.getEncoded()).getSubject(), ca, name);
      append(layout.allowList(), name + " " + range + "\n");
      return layout;
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IOException("cannot make the certificate: " + e.getMessage(), e);
    }
  }

  /**
   * Replaces the certificate and key of {@code name} (a site or a simulation host) with new ones of
   * the same name, and revokes the old certificate by its SHA-256 in the allow-list, for a key that
   * was lost or stolen. The revocation is written first; the old certificate is kept beside as
   * {@code <name>.revoked-<serial>.pem} and its key deleted.
   *
   * @param dir a folder made by {@link #create}
   * @param name the certificate's name
   * @return the fingerprint of the revoked certificate, 64 hex digits
   * @throws IOException when the old certificate or the CA cannot be read, or a file written
   */
  public static String reissue(Path dir, String name) throws IOException {
    if (!AllowList.ID.matcher(name).matches()) {
      throw new IllegalArgumentException("not a site id (letters, digits, '.', '_', '-'): " + name);
    }
    try {
      Layout layout = new Layout(dir);
      Path sites = dir.resolve("sites");
      privateFolder(sites);
      X509Certificate old = Pem.firstCertificate(sites.resolve(name + ".pem"));
      String fingerprint = CertificateId.fingerprint(old);
      X509Certificate caCert = Pem.firstCertificate(layout.caCertificate());
      KeyPair ca = new KeyPair(caCert.getPublicKey(), Pem.ecKey(dir.resolve("ca.key")));
      append(
          layout.allowList(),
          "# "
              + name
              + "'s certificate of serial "
              + old.getSerialNumber().toString(16)
              + " replaced on "
              + Instant.now()
              + "\n@revoked sha256:"
              + fingerprint
              + "\n");
      Files.move(
          sites.resolve(name + ".pem"),
          sites.resolve(name + ".revoked-" + old.getSerialNumber().toString(16) + ".pem"));
      Files.delete(sites.resolve(name + ".key"));
      site(dir, new X509CertificateHolder(caCert.getEncoded()).getSubject(), ca, name);
      return fingerprint;
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
    writeKey(dir.resolve("sites").resolve(id + ".key"), site.getPrivate());
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
    writeNew(file, text.toString(), false);
  }

  /** An unencrypted PKCS#8 PEM key, created readable by its owner only. */
  private static void writeKey(Path file, PrivateKey key) throws IOException {
    String pem =
        "-----BEGIN PRIVATE KEY-----\n"
            + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(key.getEncoded())
            + "\n-----END PRIVATE KEY-----\n";
    writeNew(file, pem, true);
  }

  /**
   * Creates {@code file} with {@code text}: never over an existing file or through a link, and for
   * a {@code secret} with mode 600 from the start (on a POSIX file system), not narrowed after.
   */
  private static void writeNew(Path file, String text, boolean secret) throws IOException {
    Set<OpenOption> options =
        Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    FileAttribute<?>[] mode =
        secret && POSIX
            ? new FileAttribute<?>[] {
              PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))
            }
            : new FileAttribute<?>[0];
    try (SeekableByteChannel out = Files.newByteChannel(file, options, mode)) {
      ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
      while (bytes.hasRemaining()) {
        out.write(bytes);
      }
    } catch (FileAlreadyExistsException e) {
      throw new IOException(
          file + ": exists already (a file or a link); it is never written over or through", e);
    }
  }

  /** Appends {@code text} to the existing {@code file}, not through a link. */
  private static void append(Path file, String text) throws IOException {
    try (SeekableByteChannel out =
        Files.newByteChannel(
            file,
            Set.of(
                StandardOpenOption.APPEND, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS))) {
      ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
      while (bytes.hasRemaining()) {
        out.write(bytes);
      }
    }
  }

  /**
   * Makes {@code dir} with mode 700 (its parents as the file system makes them); an existing one
   * must be a folder, not a link, and on a POSIX file system open to its owner only.
   */
  private static void privateFolder(Path dir) throws IOException {
    if (Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
        throw new IOException(dir + ": not a folder (a file or a link); keys go in a folder");
      }
      if (POSIX) {
        Set<PosixFilePermission> mode =
            Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
        if (!Set.of(
                PosixFilePermission.OWNER_READ,
                PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.OWNER_EXECUTE)
            .containsAll(mode)) {
          throw new IOException(
              dir
                  + ": open to others ("
                  + PosixFilePermissions.toString(mode)
                  + "); keys go in a folder of mode 700 (chmod 700 "
                  + dir
                  + ")");
        }
      }
      return;
    }
    Path parent = dir.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    if (POSIX) {
      Files.createDirectory(
          dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } else {
      Files.createDirectory(dir);
    }
  }
}
