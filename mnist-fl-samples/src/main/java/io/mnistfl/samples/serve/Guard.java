package io.mnistfl.samples.serve;

import java.net.InetAddress;
import java.net.NetworkInterface;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Collections;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Who may drive the page: a request must name the address the server is bound to in its {@code
 * Host} (a DNS-rebound name is refused), must not come from another site's page ({@code Origin},
 * {@code Sec-Fetch-Site}), must not name a path outside the served folders, and, when the server is
 * exposed with {@code --host}, must carry the token printed at start to write anything.
 */
final class Guard {
  /** The header write requests carry the token in. */
  static final String TOKEN_HEADER = "X-Mnistfl-Token";

  private static final Pattern TRAVERSAL =
      Pattern.compile("(^|/)(\\.|%2e){2}(/|$)|%2f|%5c|\\\\|%00", Pattern.CASE_INSENSITIVE);

  private final Set<String> hosts;
  private final Optional<String> token;

  private Guard(Set<String> hosts, Optional<String> token) {
    this.hosts = Collections.unmodifiableSet(hosts);
    this.token = token;
  }

  /**
   * The guard of a server bound to {@code host} and {@code port}; {@code token} is required of
   * writes when present.
   */
  static Guard of(String host, int port, Optional<String> token) {
    Set<String> names = new TreeSet<>();
    names.add(host);
    try {
      InetAddress bound = InetAddress.getByName(host);
      if (bound.isLoopbackAddress()) {
        names.add("localhost");
        names.add("127.0.0.1");
        names.add("[::1]");
      } else if (bound.isAnyLocalAddress()) {
        // Bound to every interface: any of this machine's own addresses or names, and no other.
        for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
          for (InetAddress a : Collections.list(nic.getInetAddresses())) {
            names.add(literal(a));
          }
        }
        InetAddress local = InetAddress.getLocalHost();
        names.add(local.getHostName());
        names.add(local.getCanonicalHostName());
      } else {
        names.add(literal(bound));
      }
    } catch (java.io.IOException e) {
      // The name given is kept; nothing else is added.
    }
    Set<String> hosts = new TreeSet<>();
    for (String name : names) {
      String n = name.contains(":") && !name.startsWith("[") ? "[" + name + "]" : name;
      n = n.toLowerCase(Locale.ROOT);
      hosts.add(n + ":" + port);
      if (port == 80) {
        hosts.add(n);
      }
    }
    return new Guard(hosts, token);
  }

  private static String literal(InetAddress a) {
    String s = a.getHostAddress();
    int zone = s.indexOf('%');
    return zone < 0 ? s : s.substring(0, zone);
  }

  /** The {@code Host} values accepted. */
  Set<String> hosts() {
    return hosts;
  }

  /** Whether writes need the token. */
  boolean tokenRequired() {
    return token.isPresent();
  }

  /**
   * Checks any request: its Host, its Origin and fetch site, its path.
   *
   * @param method the request's method
   * @param rawPath the path as sent, still percent-encoded
   * @param host the Host header, if any
   * @param origin the Origin header, if any
   * @param fetchSite the Sec-Fetch-Site header, if any
   * @param fetchMode the Sec-Fetch-Mode header, if any
   * @return the refusal, or empty when the request may go on
   */
  Optional<Refusal> check(
      String method,
      String rawPath,
      Optional<String> host,
      Optional<String> origin,
      Optional<String> fetchSite,
      Optional<String> fetchMode) {
    if (host.isEmpty() || !hosts.contains(host.get().toLowerCase(Locale.ROOT))) {
      return Optional.of(
          new Refusal(
              421,
              "Host "
                  + host.map(h -> "'" + clip(h) + "'").orElse("(none)")
                  + " is not this server's address; use one of "
                  + hosts));
    }
    if (TRAVERSAL.matcher(rawPath).find()) {
      return Optional.of(
          new Refusal(400, "path '" + clip(rawPath) + "' leaves the served folders; refused"));
    }
    if (origin.isPresent() && !hosts.contains(originHost(origin.get()))) {
      return Optional.of(
          new Refusal(
              403,
              "Origin '" + clip(origin.get()) + "' is another site; only this page may use it"));
    }
    boolean crossSite =
        fetchSite.map(s -> s.equals("cross-site") || s.equals("same-site")).orElse(false);
    boolean navigation =
        method.equals("GET") && fetchMode.map(m -> m.equals("navigate")).orElse(false);
    if (crossSite && !navigation) {
      return Optional.of(
          new Refusal(403, "a request from another site's page (Sec-Fetch-Site); refused"));
    }
    return Optional.empty();
  }

  /** Checks a write's token when one is required. */
  Optional<Refusal> checkWrite(Optional<String> presented) {
    if (token.isEmpty()) {
      return Optional.empty();
    }
    if (presented.isEmpty()) {
      return Optional.of(
          new Refusal(
              401,
              "this server is exposed with --host: saving needs the token printed at start,"
                  + " in the "
                  + TOKEN_HEADER
                  + " header (the page takes it from #token=… in its address)"));
    }
    boolean same =
        MessageDigest.isEqual(
            presented.get().getBytes(StandardCharsets.UTF_8),
            token.get().getBytes(StandardCharsets.UTF_8));
    return same ? Optional.empty() : Optional.of(new Refusal(403, "wrong token; refused"));
  }

  /** {@code host:port} of an {@code http://host:port} origin, lower case; "" when malformed. */
  private static String originHost(String origin) {
    String o = origin.toLowerCase(Locale.ROOT);
    return o.startsWith("http://") ? o.substring("http://".length()) : "";
  }

  /** At most 100 characters of something a client sent, for messages. */
  static String clip(String s) {
    String printable = s.replaceAll("[^\\x20-\\x7e]", "?");
    return printable.length() <= 100 ? printable : printable.substring(0, 100) + "…";
  }
}
