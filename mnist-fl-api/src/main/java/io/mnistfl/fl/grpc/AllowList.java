package io.mnistfl.fl.grpc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which certificates may take part and which site ids each may serve, from a text file the server
 * re-reads, so that a site can be revoked without a restart. One line per certificate: its
 * subject's common name, then the site ids it serves; with none, the common name is the one site
 * id. A simulation host's line grants a range, {@code sim-host-1 client-000..client-499}. Blank
 * lines and lines starting with {@code #} are ignored.
 */
public final class AllowList {
  /** Site ids and common names: letters, digits, dot, dash and underscore, 1 to 128 of them. */
  static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");

  private static final Pattern RANGE = Pattern.compile("(.*?)(\\d+)\\.\\.(.*?)(\\d+)");
  private static final long MAX_BYTES = 4 << 20;

  private final Map<String, List<String>> grants;

  private AllowList(Map<String, List<String>> grants) {
    this.grants = grants;
  }

  /**
   * Reads an allow-list file.
   *
   * @param file the file
   * @return the list
   * @throws IOException naming the file and line of anything malformed
   */
  public static AllowList read(Path file) throws IOException {
    if (Files.size(file) > MAX_BYTES) {
      throw new IOException(file + ": larger than " + MAX_BYTES + " bytes");
    }
    Map<String, List<String>> grants = new LinkedHashMap<>();
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    for (int n = 0; n < lines.size(); n++) {
      String line = lines.get(n).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] words = line.split("\\s+");
      String where = file + ":" + (n + 1);
      if (!ID.matcher(words[0]).matches()) {
        throw new IOException(where + ": not a certificate name: " + words[0]);
      }
      List<String> patterns = new ArrayList<>();
      for (int w = 1; w < words.length; w++) {
        Matcher range = RANGE.matcher(words[w]);
        if (!(ID.matcher(words[w]).matches()
            || range.matches() && range.group(1).equals(range.group(3)))) {
          throw new IOException(
              where + ": not a site id or a range prefixNNN..prefixMMM: " + words[w]);
        }
        patterns.add(words[w]);
      }
      grants.put(words[0], patterns.isEmpty() ? List.of(words[0]) : List.copyOf(patterns));
    }
    return new AllowList(grants);
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
   * Why the certificate {@code name} may not serve {@code siteId}; empty when it may.
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

  private static boolean inRange(String range, String id) {
    Matcher m = RANGE.matcher(range);
    if (!m.matches() || !id.startsWith(m.group(1))) {
      return false;
    }
    String digits = id.substring(m.group(1).length());
    if (digits.length() != m.group(2).length() || !digits.chars().allMatch(Character::isDigit)) {
      return false;
    }
    long n = Long.parseLong(digits);
    return n >= Long.parseLong(m.group(2)) && n <= Long.parseLong(m.group(4));
  }
}
