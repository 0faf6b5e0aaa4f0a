package io.mnistfl.fl.grpc;

import io.grpc.Status;
import io.mnistfl.fl.grpc.proto.Farewell;
import io.mnistfl.fl.grpc.proto.Register;
import io.mnistfl.fl.grpc.proto.ServerMessage;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who may connect, open calls and serve which site ids, on a server with TLS: the allow-list, read
 * before the server listens and re-read every second; the certificates' connections and calls,
 * capped; registration, checked against the list under the same lock that a reload takes, so that
 * no revocation slips between the check and the admission; heartbeats; and cutting what the list no
 * longer allows, every connection of a revoked certificate whether its streams registered or not.
 * On an insecure server (no allow-list) anyone on loopback is admitted as any site.
 */
final class Admission {
  private final Optional<Path> allowListFile;
  private final QuietEvents events;
  private final Duration heartbeat;
  private final Duration registrationDeadline;
  private final Object lock = new Object();
  private volatile Optional<AllowList> list = Optional.empty();
  private byte[] listDigest = new byte[0];
  private String lastError = "";
  private final Set<Peer> peers = ConcurrentHashMap.newKeySet();
  private final Set<SiteStream> streams = ConcurrentHashMap.newKeySet();
  private final Map<String, SiteStream> bySite = new ConcurrentHashMap<>();
  private final Map<String, Integer> connectionsByName = new HashMap<>();
  private final Map<String, Integer> callsByName = new HashMap<>();

  /**
   * Admission by {@code allowListFile}, or, without one, of anyone (an insecure server on
   * loopback).
   */
  Admission(
      Optional<Path> allowListFile,
      QuietEvents events,
      Duration heartbeat,
      Duration registrationDeadline) {
    this.allowListFile = allowListFile;
    this.events = events;
    this.heartbeat = heartbeat;
    this.registrationDeadline = registrationDeadline;
  }

  private boolean secure() {
    return allowListFile.isPresent();
  }

  /**
   * Reads the allow-list, before the server listens.
   *
   * @throws IOException naming the file, and the line of anything malformed
   */
  void load() throws IOException {
    Path file = allowListFile.orElseThrow();
    byte[] bytes = AllowList.bytes(file);
    AllowList read = AllowList.parse(file, bytes);
    synchronized (lock) {
      list = Optional.of(read);
      listDigest = GrpcServer.sha256(bytes);
    }
  }

  /**
   * Re-reads the allow-list when its content changed, and cuts what it no longer allows; when it
   * cannot be read, keeps the last good one and says so once.
   */
  void reload() {
    Path file = allowListFile.orElseThrow();
    AllowList read;
    byte[] digest;
    try {
      byte[] bytes = AllowList.bytes(file);
      digest = GrpcServer.sha256(bytes);
      synchronized (lock) {
        if (Arrays.equals(digest, listDigest)) {
          lastError = "";
          return;
        }
      }
      read = AllowList.parse(file, bytes);
    } catch (IOException e) {
      String why = e.getMessage() + "; keeping the last good allow-list";
      boolean fresh;
      synchronized (lock) {
        fresh = !why.equals(lastError);
        lastError = why;
      }
      if (fresh) {
        events.refused("server", why);
      }
      return;
    }
    Map<Peer, String> cut = new LinkedHashMap<>();
    Map<SiteStream, List<String>> revoked = new LinkedHashMap<>();
    synchronized (lock) {
      list = Optional.of(read);
      listDigest = digest;
      lastError = "";
      for (Peer p : peers) {
        p.certificate.flatMap(read::refusal).ifPresent(why -> cut.put(p, why));
      }
      for (SiteStream s : streams) {
        if (s.registered && !cut.containsKey(s.peer) && s.peer.certificate.isPresent()) {
          List<String> ids =
              s.sites.stream()
                  .filter(id -> read.refusal(s.peer.certificate.get(), id).isPresent())
                  .sorted()
                  .toList();
          if (!ids.isEmpty()) {
            revoked.put(s, ids);
          }
        }
      }
    }
    cut.forEach(
        (p, why) -> {
          List<String> sites =
              streams.stream()
                  .filter(s -> s.peer == p)
                  .flatMap(s -> s.sites.stream())
                  .sorted()
                  .toList();
          cut(
              p,
              "revoked by the allow-list"
                  + (sites.isEmpty() ? "" : ": " + sites)
                  + " ("
                  + why
                  + ")");
        });
    revoked.forEach(
        (s, ids) -> {
          events.refused(s.who(), "revoked by the allow-list: " + ids);
          s.end("revoked by the allow-list", Status.PERMISSION_DENIED);
        });
  }

  /** Why the certificate presented in a TLS handshake may not connect; empty when it may. */
  Optional<String> refusalAtHandshake(X509Certificate certificate) {
    try {
      CertificateId id = CertificateId.of(certificate);
      return list.map(l -> l.refusal(id)).orElse(Optional.of("no allow-list is loaded"));
    } catch (CertificateException e) {
      return Optional.of(e.getMessage());
    }
  }

  /**
   * A connection finished its handshakes; it is cut at once when its certificate is unusable, no
   * longer allowed (the list changed since the handshake) or has too many connections.
   */
  void connected(Peer peer, boolean tls, Optional<String> unusable) {
    Optional<String> no = Optional.empty();
    synchronized (lock) {
      peers.add(peer);
      if (tls) {
        no =
            unusable.or(
                () ->
                    peer.certificate.flatMap(
                        c -> list.map(l -> l.refusal(c)).orElse(Optional.of("no allow-list"))));
        if (peer.certificate.isPresent()) {
          String name = peer.certificate.get().name();
          int n = connectionsByName.merge(name, 1, Integer::sum);
          if (no.isEmpty() && n > Caps.CONNECTIONS_PER_CERTIFICATE) {
            no =
                Optional.of(
                    n
                        + " connections of certificate "
                        + name
                        + ", above the cap of "
                        + Caps.CONNECTIONS_PER_CERTIFICATE);
          }
        } else if (no.isEmpty()) {
          no = Optional.of("a connection without a client certificate");
        }
      }
    }
    no.ifPresent(why -> cut(peer, why));
  }

  /** A connection ended. */
  void disconnected(Peer peer) {
    synchronized (lock) {
      if (peers.remove(peer)) {
        peer.certificate.ifPresent(c -> decrement(connectionsByName, c.name()));
      }
    }
  }

  /**
   * Whether {@code peer} may open one more call: its connection is not being cut, its certificate
   * is still allowed, and it has fewer than {@value Caps#CALLS_PER_CERTIFICATE} calls open. An
   * admitted call must be ended with {@link #callEnded}.
   *
   * @return the refusal, or empty when admitted
   */
  Optional<Status> admitCall(Peer peer) {
    synchronized (lock) {
      if (peer.isCut()) {
        return Optional.of(
            Status.PERMISSION_DENIED.withDescription("its connection is cut: " + peer.cutFor()));
      }
      if (!secure()) {
        return Optional.empty();
      }
      if (peer.certificate.isEmpty()) {
        return Optional.of(
            Status.UNAUTHENTICATED.withDescription("a verified client certificate is required"));
      }
      CertificateId id = peer.certificate.get();
      Optional<String> no = list.map(l -> l.refusal(id)).orElse(Optional.of("no allow-list"));
      if (no.isPresent()) {
        return Optional.of(Status.PERMISSION_DENIED.withDescription(no.get()));
      }
      int open = callsByName.getOrDefault(id.name(), 0);
      if (open >= Caps.CALLS_PER_CERTIFICATE) {
        return Optional.of(
            Status.RESOURCE_EXHAUSTED.withDescription(
                "certificate "
                    + id.name()
                    + " has "
                    + open
                    + " calls open, the cap for one certificate"));
      }
      callsByName.put(id.name(), open + 1);
      return Optional.empty();
    }
  }

  /** A call admitted by {@link #admitCall} ended. */
  void callEnded(Peer peer) {
    if (secure()) {
      synchronized (lock) {
        peer.certificate.ifPresent(c -> decrement(callsByName, c.name()));
      }
    }
  }

  private static void decrement(Map<String, Integer> counts, String name) {
    counts.computeIfPresent(name, (k, n) -> n > 1 ? n - 1 : null);
  }

  /** A stream opened by an admitted call; it must register within the deadline. */
  SiteStream open(SiteStream.Run run, Peer peer, Outbound<ServerMessage> out) {
    SiteStream s = new SiteStream(run, peer, out, this);
    streams.add(s);
    return s;
  }

  /** Forgets a stream that ended. */
  void forget(SiteStream s) {
    streams.remove(s);
    for (String id : s.sites) {
      bySite.remove(id, s);
    }
  }

  /** Ends {@code s}, reporting why, and tells the site it is refused. */
  void refuse(SiteStream s, String why) {
    events.refused(s.who(), why);
    s.farewell(Farewell.Reason.REFUSED, why, Status.PERMISSION_DENIED);
  }

  /** Admits the site ids {@code r} claims on {@code s}, or ends the stream saying why not. */
  void register(SiteStream s, Register r) {
    if (s.registered) {
      refuse(s, "registered twice on one stream");
      return;
    }
    if (r.getProtocolVersion() != GrpcServer.PROTOCOL_VERSION) {
      refuse(
          s,
          "protocol version "
              + r.getProtocolVersion()
              + ", this server speaks "
              + GrpcServer.PROTOCOL_VERSION);
      return;
    }
    if (r.getSiteIdsCount() == 0 || r.getSiteIdsCount() > Caps.SITES_PER_STREAM) {
      refuse(s, r.getSiteIdsCount() + " site ids, expected 1 to " + Caps.SITES_PER_STREAM);
      return;
    }
    List<String> ids = r.getSiteIdsList().stream().distinct().toList();
    for (String id : ids) {
      if (!AllowList.ID.matcher(id).matches()) {
        refuse(s, "a malformed site id");
        return;
      }
    }
    Optional<String> no = Optional.empty();
    List<SiteStream> emptied = new ArrayList<>();
    Map<String, SiteStream> moved = new LinkedHashMap<>();
    synchronized (lock) {
      if (s.isEnded() || s.peer.isCut()) {
        return;
      }
      if (secure()) {
        Optional<CertificateId> cert = s.peer.certificate;
        Optional<AllowList> now = list;
        if (now.isEmpty()) {
          no = Optional.of("no allow-list is loaded; every registration is refused");
        } else if (cert.isEmpty()) {
          no = Optional.of("a verified client certificate is required");
        } else {
          for (String id : ids) {
            no = now.get().refusal(cert.get(), id);
            if (no.isPresent()) {
              break;
            }
          }
        }
      }
      if (no.isEmpty()) {
        s.sites.addAll(ids);
        s.registered = true;
        for (String id : ids) {
          SiteStream earlier = bySite.put(id, s);
          if (earlier != null && earlier != s) {
            earlier.sites.remove(id);
            moved.put(id, earlier);
            if (earlier.sites.isEmpty()) {
              emptied.add(earlier);
            }
          }
        }
      }
    }
    if (no.isPresent()) {
      refuse(s, no.get());
      return;
    }
    moved.forEach((id, earlier) -> earlier.failPending(id, "reconnected on another stream"));
    emptied.forEach(e -> e.end("its sites reconnected on another stream", Status.UNAVAILABLE));
    try {
      if (s.welcome(ids)) {
        events.joined(s.who(), ids);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Cuts a connection: its streams end with {@code why}, calls it opens meanwhile are refused, and
   * the connection closes.
   */
  void cut(Peer peer, String why) {
    if (!peer.cut(why)) {
      return;
    }
    events.refused(peer.who(), why + "; its connection is cut");
    for (SiteStream s : streams) {
      if (s.peer == peer) {
        s.end(why, Status.PERMISSION_DENIED);
      }
    }
    peer.close();
  }

  /**
   * Once a second: cuts streams that did not register in time, marks sites that missed three
   * heartbeats (and back when heard again), and re-reads the allow-list.
   */
  void housekeeping() {
    long now = System.nanoTime();
    long limit = 3 * heartbeat.toNanos();
    for (SiteStream s : streams) {
      if (!s.registered) {
        if (now - s.opened > registrationDeadline.toNanos()) {
          refuse(s, "did not register within " + registrationDeadline.toSeconds() + " s");
        }
        continue;
      }
      boolean late = now - s.lastSeen > limit;
      if (late && !s.stale) {
        s.stale = true;
        s.failPending("missed 3 heartbeats");
        events.refused(s.who(), "missed 3 heartbeats; not sampled until it is heard again");
      } else if (!late && s.stale) {
        s.stale = false;
        events.joined(s.who(), s.sites.stream().sorted().toList());
      }
    }
    if (secure()) {
      reload();
    }
    events.flush();
  }

  /** The sites connected now whose heartbeats are on time, sorted. */
  List<String> siteIds() {
    List<String> ids = new ArrayList<>();
    bySite.forEach(
        (id, s) -> {
          if (!s.stale) {
            ids.add(id);
          }
        });
    ids.sort(null);
    return ids;
  }

  /** Every registered site, stale or not, with when it was last heard, sorted by id. */
  List<GrpcServer.ConnectedSite> connectedSites() {
    long now = System.nanoTime();
    java.time.Instant wall = java.time.Instant.now();
    List<GrpcServer.ConnectedSite> out = new ArrayList<>();
    bySite.forEach(
        (id, s) ->
            out.add(
                new GrpcServer.ConnectedSite(
                    id, wall.minusNanos(Math.max(0, now - s.lastSeen)), !s.stale)));
    out.sort(java.util.Comparator.comparing(GrpcServer.ConnectedSite::siteId));
    return out;
  }

  /** The stream that serves {@code siteId}. */
  Optional<SiteStream> stream(String siteId) {
    return Optional.ofNullable(bySite.get(siteId));
  }

  /** How many streams are open, registered or not. */
  int openStreams() {
    return streams.size();
  }

  /** Ends every stream, telling each site why: the federation finished, or the server stops. */
  void endAll(Farewell.Reason reason, String why) {
    streams.parallelStream().forEach(s -> s.farewell(reason, why, Status.UNAVAILABLE));
  }
}
