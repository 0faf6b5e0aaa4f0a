package io.mnistfl.fl.grpc;

import com.google.protobuf.ByteString;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.mnistfl.fl.Transport;
import io.mnistfl.fl.grpc.proto.FederationGrpc;
import io.mnistfl.fl.grpc.proto.Register;
import io.mnistfl.fl.grpc.proto.ResultChunk;
import io.mnistfl.fl.grpc.proto.ServerMessage;
import io.mnistfl.fl.grpc.proto.SiteMessage;
import io.mnistfl.fl.grpc.proto.TaskChunk;
import io.mnistfl.fl.grpc.proto.Welcome;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.train.Json;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The server side of the gRPC transport: it listens on one port and opens no connection; sites dial
 * out to it, register, heartbeat and answer the tasks it sends down their stream. It is a {@link
 * Transport}, so the round loop drives it like any other.
 *
 * <p>With TLS (the default) sites must present a certificate from the trusted CA; a site's identity
 * is its certificate's common name, and the allow-list says which site ids that certificate may
 * serve. The allow-list is re-read every second, and revoking a certificate cuts its connection.
 * Every task carries this server run's id, a task id and a nonce, which the answer must echo: a
 * replayed or stale answer, or one from an earlier run, is refused. Every inbound message is capped
 * before it is read (one chunk of {@value Chunks#SIZE} bytes), and so is every answer, by the size
 * of the model. A site that misses three heartbeats is not sampled until it comes back; one whose
 * stream closes is gone at once, its tasks failed.
 */
public final class GrpcServer implements Transport {
  /** The protocol version sites must speak. */
  public static final int PROTOCOL_VERSION = 1;

  private final Builder b;
  private final byte[] runId = new byte[16];
  private final SecureRandom random = new SecureRandom();
  private final String specJson;
  private final long maxResultBytes;
  private final Map<String, Connection> bySite = new ConcurrentHashMap<>();
  private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
  private final AtomicLong taskIds = new AtomicLong();
  private final AtomicLong bytesSent = new AtomicLong();
  private final AtomicLong bytesReceived = new AtomicLong();
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "grpc-server-timer");
            t.setDaemon(true);
            return t;
          });
  private volatile Optional<AllowList> allowList = Optional.empty();
  private FileTime allowListStamp;
  private long allowListSize = -1;
  private Server server;
  private final Object digestLock = new Object();
  private byte[] lastRequest;
  private ByteString lastDigest;

  private GrpcServer(Builder b) {
    this.b = b;
    random.nextBytes(runId);
    this.specJson = Json.toJson(b.spec);
    this.maxResultBytes = b.maxResultBytes.orElse(Chunks.payloadCap(b.spec));
  }

  /**
   * A builder for a server of {@code spec}, whose JSON every site receives on joining.
   *
   * @param spec the model of the federation
   * @return the builder
   */
  public static Builder builder(ModelSpec spec) {
    return new Builder(spec);
  }

  /**
   * Binds the port and starts serving.
   *
   * @return this server
   * @throws IOException when the port cannot be bound or the TLS files cannot be read
   */
  public GrpcServer start() throws IOException {
    ServerCredentials credentials;
    if (b.tls.isPresent()) {
      TlsFiles t = b.tls.get();
      credentials =
          TlsServerCredentials.newBuilder()
              .keyManager(t.certificateChain().toFile(), t.privateKey().toFile())
              .trustManager(ReportingTrust.of(t.trustedCa(), b.events::refused))
              .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
              .build();
      reloadAllowList();
    } else {
      if (!b.address.getAddress().isLoopbackAddress()) {
        throw new IllegalArgumentException(
            "an insecure server listens on loopback only, not on " + b.address);
      }
      credentials = InsecureServerCredentials.create();
    }
    server =
        NettyServerBuilder.forAddress(b.address, credentials)
            .maxInboundMessageSize(Chunks.MAX_MESSAGE)
            .maxInboundMetadataSize(16 << 10)
            .handshakeTimeout(10, TimeUnit.SECONDS)
            .keepAliveTime(30, TimeUnit.SECONDS)
            .keepAliveTimeout(10, TimeUnit.SECONDS)
            .permitKeepAliveTime(5, TimeUnit.SECONDS)
            .permitKeepAliveWithoutCalls(true)
            .addService(ServerInterceptors.intercept(new Service(), new PeerIdentity()))
            .build()
            .start();
    timer.scheduleWithFixedDelay(this::housekeeping, 1, 1, TimeUnit.SECONDS);
    return this;
  }

  /**
   * The port listened on (the bound one when 0 was asked for).
   *
   * @return the port
   */
  public int port() {
    return server.getPort();
  }

  /**
   * Payload bytes sent to and received from sites so far, to measure a round's traffic.
   *
   * @return {sent, received}
   */
  public long[] payloadBytes() {
    return new long[] {bytesSent.get(), bytesReceived.get()};
  }

  /** The sites connected now whose heartbeats are on time, sorted. */
  @Override
  public List<String> siteIds() {
    List<String> ids = new ArrayList<>();
    bySite.forEach(
        (id, c) -> {
          if (!c.stale) {
            ids.add(id);
          }
        });
    ids.sort(null);
    return ids;
  }

  @Override
  public byte[] exchange(String siteId, byte[] request) throws IOException, InterruptedException {
    Connection c = bySite.get(siteId);
    if (c == null) {
      throw new IOException("site " + siteId + " is not connected");
    }
    if (c.stale) {
      throw new IOException("site " + siteId + " missed its heartbeats");
    }
    return c.call(siteId, request, digest(request));
  }

  /** The SHA-256 of a request, computed once for the request every site of a round shares. */
  private ByteString digest(byte[] request) {
    synchronized (digestLock) {
      if (request != lastRequest) {
        lastDigest = ByteString.copyFrom(sha256(request));
        lastRequest = request;
      }
      return lastDigest;
    }
  }

  static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK always provides SHA-256", e);
    }
  }

  /** Stops listening and closes every connection. */
  @Override
  public void close() {
    timer.shutdownNow();
    connections.forEach(c -> c.end("the server stops", Status.UNAVAILABLE));
    if (server != null) {
      server.shutdownNow();
      try {
        server.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void housekeeping() {
    try {
      long now = System.nanoTime();
      long limit = 3 * b.heartbeat.toNanos();
      for (Connection c : connections) {
        boolean late = c.registered && now - c.lastSeen > limit;
        if (late && !c.stale) {
          c.stale = true;
          c.failPending("missed 3 heartbeats");
          b.events.refused(c.who(), "missed 3 heartbeats; not sampled until it is heard again");
        } else if (!late && c.stale) {
          c.stale = false;
          b.events.joined(c.who(), List.copyOf(c.sites));
        }
      }
      if (b.tls.isPresent()) {
        reloadAllowList();
      }
    } catch (RuntimeException e) {
      b.events.refused("server", "housekeeping failed: " + e);
    }
  }

  /** Re-reads the allow-list when the file changed, and cuts what it no longer allows. */
  private synchronized void reloadAllowList() {
    Path file =
        b.allowList.orElseThrow(
            () -> new IllegalStateException("a TLS server needs an allow-list"));
    try {
      FileTime stamp = Files.getLastModifiedTime(file);
      long size = Files.size(file);
      if (stamp.equals(allowListStamp) && size == allowListSize) {
        return;
      }
      AllowList list = AllowList.read(file);
      allowList = Optional.of(list);
      allowListStamp = stamp;
      allowListSize = size;
      for (Connection c : connections) {
        c.name.ifPresent(
            name -> {
              List<String> revoked =
                  c.sites.stream().filter(id -> list.refusal(name, id).isPresent()).toList();
              if (!revoked.isEmpty()) {
                b.events.refused(c.who(), "revoked by the allow-list: " + revoked);
                c.end("revoked by the allow-list", Status.PERMISSION_DENIED);
              }
            });
      }
    } catch (IOException e) {
      b.events.refused(
          "server", "cannot read the allow-list, keeping the last one: " + e.getMessage());
    }
  }

  /** One site host's stream. */
  private final class Connection {
    final Optional<String> name;
    final String address;
    final Outbound<ServerMessage> out;
    final Set<String> sites = ConcurrentHashMap.newKeySet();
    final Map<Long, Pending> pending = new ConcurrentHashMap<>();

    /**
     * The payloads this connection carries or carried, newest last, each completed with whether it
     * went through whole.
     */
    final java.util.LinkedHashMap<ByteString, CompletableFuture<Boolean>> carried =
        new java.util.LinkedHashMap<>();

    volatile long lastSeen = System.nanoTime();
    volatile boolean stale;
    volatile boolean registered;
    volatile boolean ended;

    Connection(Optional<String> name, String address, Outbound<ServerMessage> out) {
      this.name = name;
      this.address = address;
      this.out = out;
    }

    String who() {
      return name.map(n -> "certificate " + n).orElse("insecure peer") + " at " + address;
    }

    byte[] call(String siteId, byte[] request, ByteString digest)
        throws IOException, InterruptedException {
      long id = taskIds.incrementAndGet();
      byte[] nonce = new byte[16];
      random.nextBytes(nonce);
      Pending p = new Pending(siteId, ByteString.copyFrom(nonce));
      pending.put(id, p);
      try {
        TaskChunk.Builder task =
            TaskChunk.newBuilder()
                .setSiteId(siteId)
                .setTaskId(id)
                .setRunId(ByteString.copyFrom(runId))
                .setNonce(p.nonce)
                .setTotalSize(request.length)
                .setPayloadSha256(digest);
        // The first task with a payload sends it; the others wait for that and send its
        // digest only, which the stream delivers after the payload.
        CompletableFuture<Boolean> mine = new CompletableFuture<>();
        CompletableFuture<Boolean> sending;
        synchronized (carried) {
          sending = carried.putIfAbsent(digest, mine);
          if (sending == null) {
            while (carried.size() > 2) {
              carried.remove(carried.keySet().iterator().next());
            }
          }
        }
        boolean cached = sending != null && sending.get();
        if (cached) {
          out.send(ServerMessage.newBuilder().setTask(task.setCached(true).setLast(true)).build());
        } else {
          try {
            List<ByteString> chunks = Chunks.split(request);
            for (int i = 0; i < chunks.size(); i++) {
              out.send(
                  ServerMessage.newBuilder()
                      .setTask(task.setData(chunks.get(i)).setLast(i == chunks.size() - 1))
                      .build());
            }
            bytesSent.addAndGet(request.length);
            mine.complete(sending == null);
          } catch (InterruptedException | RuntimeException e) {
            mine.complete(false);
            synchronized (carried) {
              carried.remove(digest, mine);
            }
            throw e;
          }
        }
        return p.answer.get();
      } catch (ExecutionException e) {
        throw new IOException(e.getCause().getMessage(), e.getCause());
      } catch (IllegalStateException e) {
        throw new IOException("site " + siteId + " disconnected", e);
      } finally {
        pending.remove(id);
      }
    }

    void onResult(ResultChunk r) {
      Pending p = pending.get(r.getTaskId());
      if (p == null) {
        b.events.refused(
            who(),
            "an answer for task "
                + r.getTaskId()
                + ", which is not"
                + " outstanding (replayed or too late)");
        return;
      }
      if (!r.getRunId().equals(ByteString.copyFrom(runId))) {
        b.events.refused(who(), "an answer from another server run");
        return;
      }
      if (!r.getSiteId().equals(p.siteId) || !r.getNonce().equals(p.nonce)) {
        b.events.refused(
            who(),
            "an answer for task " + r.getTaskId() + " that does not echo" + " its site and nonce");
        return;
      }
      if (!r.getError().isEmpty()) {
        String error = r.getError();
        p.answer.completeExceptionally(
            new IOException(error.length() > 300 ? error.substring(0, 300) + "…" : error));
        return;
      }
      try {
        if (p.assembler == null) {
          p.assembler =
              new Chunks.Assembler(
                  r.getTotalSize(), maxResultBytes, "the answer of site " + p.siteId);
        }
        bytesReceived.addAndGet(r.getData().size());
        byte[] whole = p.assembler.add(r.getData(), r.getLast());
        if (whole != null) {
          p.answer.complete(whole);
        }
      } catch (IOException e) {
        p.answer.completeExceptionally(e);
      }
    }

    void failPending(String why) {
      pending
          .values()
          .forEach(
              p -> p.answer.completeExceptionally(new IOException("site " + p.siteId + " " + why)));
    }

    /** Closes the stream (if open) and forgets the connection. */
    void end(String why, Status status) {
      if (ended) {
        return;
      }
      ended = true;
      out.fail(status.withDescription(why).asRuntimeException());
      forget(why);
    }

    void forget(String why) {
      ended = true;
      out.close();
      connections.remove(this);
      for (String id : sites) {
        bySite.remove(id, this);
      }
      failPending("disconnected: " + why);
      if (registered) {
        b.events.left(who(), why);
      }
    }
  }

  /** A task sent and not yet answered. */
  private static final class Pending {
    final String siteId;
    final ByteString nonce;
    final CompletableFuture<byte[]> answer = new CompletableFuture<>();
    Chunks.Assembler assembler;

    Pending(String siteId, ByteString nonce) {
      this.siteId = siteId;
      this.nonce = nonce;
    }
  }

  /** The Connect method: one stream per site host. */
  private final class Service extends FederationGrpc.FederationImplBase {
    @Override
    public StreamObserver<SiteMessage> connect(StreamObserver<ServerMessage> responses) {
      ServerCallStreamObserver<ServerMessage> stream =
          (ServerCallStreamObserver<ServerMessage>) responses;
      Connection c =
          new Connection(
              PeerIdentity.NAME.get(), PeerIdentity.ADDRESS.get(), new Outbound<>(stream));
      stream.setOnCancelHandler(() -> c.forget("the site's stream was cancelled"));
      connections.add(c);
      return new StreamObserver<>() {
        @Override
        public void onNext(SiteMessage m) {
          c.lastSeen = System.nanoTime();
          switch (m.getKindCase()) {
            case REGISTER -> register(c, m.getRegister());
            case HEARTBEAT -> {}
            case RESULT -> {
              if (c.registered) {
                c.onResult(m.getResult());
              } else {
                refuse(c, "an answer before registering");
              }
            }
            default -> refuse(c, "a message of unknown kind");
          }
        }

        @Override
        public void onError(Throwable t) {
          c.forget("its stream broke: " + Status.fromThrowable(t).getCode());
        }

        @Override
        public void onCompleted() {
          c.end("it closed its stream", Status.OK);
        }
      };
    }

    private void refuse(Connection c, String why) {
      b.events.refused(c.who(), why);
      c.end(why, Status.PERMISSION_DENIED);
    }

    private void register(Connection c, Register r) {
      if (c.registered) {
        refuse(c, "registered twice on one stream");
        return;
      }
      if (r.getProtocolVersion() != PROTOCOL_VERSION) {
        refuse(
            c,
            "protocol version "
                + r.getProtocolVersion()
                + ", this server speaks "
                + PROTOCOL_VERSION);
        return;
      }
      if (r.getSiteIdsCount() == 0 || r.getSiteIdsCount() > b.maxSitesPerConnection) {
        refuse(c, r.getSiteIdsCount() + " site ids, expected 1 to " + b.maxSitesPerConnection);
        return;
      }
      for (String id : r.getSiteIdsList()) {
        if (!AllowList.ID.matcher(id).matches()) {
          refuse(c, "a malformed site id");
          return;
        }
        if (c.name.isPresent()) {
          Optional<String> no = allowList.flatMap(list -> list.refusal(c.name.get(), id));
          if (no.isPresent()) {
            refuse(c, no.get());
            return;
          }
        }
      }
      c.sites.addAll(r.getSiteIdsList());
      c.registered = true;
      for (String id : c.sites) {
        Connection earlier = bySite.put(id, c);
        if (earlier != null && earlier != c) {
          earlier.sites.remove(id);
          earlier.pending.values().stream()
              .filter(p -> p.siteId.equals(id))
              .forEach(
                  p ->
                      p.answer.completeExceptionally(
                          new IOException("site " + id + " reconnected on another stream")));
          if (earlier.sites.isEmpty()) {
            earlier.end("its sites reconnected on another stream", Status.UNAVAILABLE);
          }
        }
      }
      try {
        c.out.send(
            ServerMessage.newBuilder()
                .setWelcome(
                    Welcome.newBuilder()
                        .setProtocolVersion(PROTOCOL_VERSION)
                        .setRunId(ByteString.copyFrom(runId))
                        .setModelSpecJson(specJson)
                        .setHeartbeatSeconds((int) b.heartbeat.toSeconds())
                        .addAllSiteIds(c.sites)
                        .setMaxResultBytes(maxResultBytes))
                .build());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (IllegalStateException e) {
        return;
      }
      b.events.joined(c.who(), List.copyOf(c.sites));
    }
  }

  /** What the server does with its sites, for its operator; all default to nothing. */
  public interface Events {
    /**
     * Sites joined (or came back after missed heartbeats).
     *
     * @param who the certificate and address
     * @param sites the sites admitted
     */
    default void joined(String who, List<String> sites) {}

    /**
     * A connection ended.
     *
     * @param who the certificate and address
     * @param why the reason
     */
    default void left(String who, String why) {}

    /**
     * Something a peer sent or did was refused; nothing else is disturbed.
     *
     * @param who the certificate and address
     * @param why the reason
     */
    default void refused(String who, String why) {}
  }

  /** Builds a {@link GrpcServer}. */
  public static final class Builder {
    private final ModelSpec spec;
    private InetSocketAddress address = new InetSocketAddress("localhost", 0);
    private Optional<TlsFiles> tls = Optional.empty();
    private Optional<Path> allowList = Optional.empty();
    private boolean insecure;
    private Duration heartbeat = Duration.ofSeconds(5);
    private Optional<Long> maxResultBytes = Optional.empty();
    private int maxSitesPerConnection = 100_000;
    private Events events = new Events() {};

    private Builder(ModelSpec spec) {
      this.spec = Objects.requireNonNull(spec, "spec");
    }

    /**
     * Where to listen (default localhost, any free port).
     *
     * @param value the address
     * @return this builder
     */
    public Builder listen(InetSocketAddress value) {
      this.address = Objects.requireNonNull(value, "address");
      return this;
    }

    /**
     * Mutual TLS: this server's certificate and key, the CA of the sites' certificates, and the
     * allow-list of certificates and the site ids each may serve.
     *
     * @param files the server's TLS files
     * @param allowListFile the allow-list, re-read every second
     * @return this builder
     */
    public Builder tls(TlsFiles files, Path allowListFile) {
      this.tls = Optional.of(files);
      this.allowList = Optional.of(allowListFile);
      return this;
    }

    /**
     * No TLS and no identities, for experiments on loopback only: anyone who can connect may claim
     * any site id and read the weights.
     *
     * @return this builder
     */
    public Builder insecure() {
      this.insecure = true;
      return this;
    }

    /**
     * How often sites must be heard from (default 5 s); three missed beats and a site is not
     * sampled.
     *
     * @param value the interval, whole seconds
     * @return this builder
     */
    public Builder heartbeat(Duration value) {
      this.heartbeat = Objects.requireNonNull(value, "heartbeat");
      return this;
    }

    /**
     * The largest answer accepted from a site (default: the model's weights plus 1 MiB).
     *
     * @param value bytes
     * @return this builder
     */
    public Builder maxResultBytes(long value) {
      this.maxResultBytes = Optional.of(value);
      return this;
    }

    /**
     * Where refusals, joins and departures are reported.
     *
     * @param value the listener
     * @return this builder
     */
    public Builder events(Events value) {
      this.events = Objects.requireNonNull(value, "events");
      return this;
    }

    /**
     * The server, not yet started.
     *
     * @return the server
     */
    public GrpcServer build() {
      if (tls.isEmpty() && !insecure) {
        throw new IllegalArgumentException(
            "a server needs TLS files and an allow-list, or an"
                + " explicit insecure() for loopback experiments");
      }
      if (heartbeat.toSeconds() < 1) {
        throw new IllegalArgumentException("heartbeat must be at least 1 s, was " + heartbeat);
      }
      return new GrpcServer(this);
    }
  }
}
