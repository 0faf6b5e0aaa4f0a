package io.mnistfl.fl.grpc;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which certificates may take part and which site ids each may serve, from a text file the server
 * re-reads, so that a site can be revoked without a restart. One line per certificate: its
 * subject's common name, then the site ids it serves; with none, the common name is the one site
 * id. A simulation host's line grants a range, {@code sim-host-1 client-000..client-499}. A line
 * {@code @revoked sha256:<64 hex digits>} or {@code @revoked serial:<hex digits>} revokes one
 * certificate (colons between the digits allowed, as {@code openssl x509 -fingerprint -sha256} and
 * {@code -serial} print them) whatever its name, so that a stolen key can be revoked while the site
 * gets a new certificate of the same name. Blank lines and lines starting with {@code #} are
 * ignored. Anything else, or a name listed twice, makes the whole file malformed.
 */
public final class AllowList {
  /** Site ids and common names: letters, digits, dot, dash and underscore, 1 to 128 of them. */
  static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");

  /** The largest allow-list read, in bytes. */
  static final int MAX_BYTES = 4 << 20;

  private static final Pattern RANGE =
      Pattern.compile(
          "([A-Za-z0-9._-]{0,110}?)(\\d{1,18})\\.\\.([A-Za-z0-9._-]{0,110}?)(\\d{1,18})");
  private static final Pattern SHA256 = Pattern.compile("sha256:((?:[0-9a-fA-F]{2}:?){32})");
  private static final Pattern SERIAL = Pattern.compile("serial:((?:[0-9a-fA-F]{1,2}:?){1,64})");

  private final Map<String, List<String>> grants;
  private final Map<String, String> revokedFingerprints;
  private final Map<BigInteger, String> revokedSerials;

  private AllowList(
      Map<String, List<String>> grants,
      Map<String, String> revokedFingerprints,
      Map<BigInteger, String> revokedSerials) {
    this.grants = Map.copyOf(grants);
    this.revokedFingerprints = Map.copyOf(revokedFingerprints);
    this.revokedSerials = Map.copyOf(revokedSerials);
  }

  /**
   * Reads an allow-list file.
   *
   * @param file the file
   * @return the list
   * @throws IOException naming the file, and the line of anything malformed
   */
  public static AllowList read(Path file) throws IOException {
    return parse(file, bytes(file));
  }

  /** The bytes of {@code file}, refused above {@link #MAX_BYTES} before more are read. */
  static byte[] bytes(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      byte[] bytes = in.readNBytes(MAX_BYTES + 1);
      if (bytes.length > MAX_BYTES) {
        throw new IOException(
            file + ": larger than the allow-list's cap of " + MAX_BYTES + " bytes");
      }
      return bytes;
    } catch (NoSuchFileException e) {
      throw new IOException(file + ": no such allow-list file", e);
    } catch (AccessDeniedException e) {
      throw new IOException(file + ": the allow-list cannot be read (permission denied)", e);
    }
  }

  /** The list in {@code bytes}, read from {@code file}. */
  static AllowList parse(Path file, byte[] bytes) throws IOException {
    String text;
    try {
      text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
    } catch (CharacterCodingException e) {
      throw new IOException(file + ": not UTF-8 text", e);
    }
    Map<String, List<String>> grants = new HashMap<>();
    Map<String, Integer> lineOf = new HashMap<>();
    Map<String, String> fingerprints = new HashMap<>();
    Map<BigInteger, String> serials = new HashMap<>();
    List<String> lines = text.lines().toList();
    for (int n = 0; n < lines.size(); n++) {
      String line = lines.get(n).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] words = line.split("\\s+");
      String where = file + ":" + (n + 1);
      if (words[0].equals("@revoked")) {
        Matcher sha = words.length == 2 ? SHA256.matcher(words[1]) : null;
        Matcher serial = words.length == 2 ? SERIAL.matcher(words[1]) : null;
        if (sha != null && sha.matches()) {
          fingerprints.put(sha.group(1).replace(":", "").toLowerCase(Locale.ROOT), where);
        } else if (serial != null && serial.matches()) {
          serials.put(new BigInteger(serial.group(1).replace(":", ""), 16), where);
        } else {
          throw new IOException(
              where
                  + ": @revoked takes one sha256:<64 hex digits> or serial:<hex digits>, was: "
                  + line);
        }
        continue;
      }
      if (!ID.matcher(words[0]).matches()) {
        throw new IOException(where + ": not a certificate name: " + words[0]);
      }
      Integer first = lineOf.putIfAbsent(words[0], n + 1);
      if (first != null) {
        throw new IOException(
            where + ": certificate " + words[0] + " is listed twice (first on line " + first + ")");
      }
      List<String> patterns = new ArrayList<>();
      for (int w = 1; w < words.length; w++) {
        if (!ID.matcher(words[w]).matches() || words[w].contains("..")) {
          Matcher range = RANGE.matcher(words[w]);
          if (!range.matches()
              || !range.group(1).equals(range.group(3))
              || range.group(2).length() != range.group(4).length()
              || new BigInteger(range.group(2)).compareTo(new BigInteger(range.group(4))) > 0) {
            throw new IOException(
                where
                    + ": not a site id or a range prefixNNN..prefixMMM (as many digits, NNN <= MMM): "
                    + words[w]);
          }
        }
        patterns.add(words[w]);
      }
      grants.put(words[0], patterns.isEmpty() ? List.of(words[0]) : List.copyOf(patterns));
    }
    return new AllowList(grants, fingerprints, serials);
  }

  /**
   * Whether a certificate with common name {@code name} is listed at all.
   *
   * @param name the certificate's common name
   * @return true when listed
   */
  public boolean lists(String name) {
    return grants.containsKey(name);
  }

  /**
   * Why the certificate {@code name} may not serve {@code siteId}; empty when it may. This reads
   * the names only; the server also refuses a revoked certificate.
   *
   * @param name the certificate's common name
   * @param siteId a site id it claims
   * @return the refusal, or empty
   */
  public Optional<String> refusal(String name, String siteId) {
    List<String> mine = grants.get(name);
    if (mine == null) {
      return Optional.of("certificate " + name + " is not on the allow-list");
    }
    for (String p : mine) {
      if (p.equals(siteId) || inRange(p, siteId)) {
        return Optional.empty();
      }
    }
    return Optional.of("certificate " + name + " may not serve site " + siteId);
  }

  /** Why {@code id} may not connect at all: revoked, or its name not listed; empty when it may. */
  Optional<String> refusal(CertificateId id) {
    String where = revokedFingerprints.get(id.sha256());
    if (where == null) {
      where = revokedSerials.get(id.serial());
    }
    if (where != null) {
      return Optional.of(id.describe() + " is revoked by " + where);
    }
    if (!lists(id.name())) {
      return Optional.of("certificate " + id.name() + " is not on the allow-list");
    }
    return Optional.empty();
  }

  /** Why {@code id} may not serve {@code siteId}; empty when it may. */
  Optional<String> refusal(CertificateId id, String siteId) {
    return refusal(id).or(() -> refusal(id.name(), siteId));
  }

  private static boolean inRange(String range, String id) {
    Matcher m = RANGE.matcher(range);
    if (!m.matches() || !id.startsWith(m.group(1))) {
      return false;
    }
    String digits = id.substring(m.group(1).length());
    if (digits.length() != m.group(2).length()
        || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return false;
    }
    long n = Long.parseLong(digits);
    return n >= Long.parseLong(m.group(2)) && n <= Long.parseLong(m.group(4));
  }
}
