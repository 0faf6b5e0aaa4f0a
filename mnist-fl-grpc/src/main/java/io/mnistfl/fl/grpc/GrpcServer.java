package io.mnistfl.fl.grpc;

import com.google.protobuf.ByteString;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.MultiThreadIoEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.nio.NioIoHandler;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.mnistfl.fl.Transport;
import io.mnistfl.fl.grpc.proto.Farewell;
import io.mnistfl.fl.grpc.proto.FederationGrpc;
import io.mnistfl.fl.grpc.proto.ServerMessage;
import io.mnistfl.fl.grpc.proto.SiteMessage;
import io.mnistfl.fl.grpc.proto.Welcome;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.train.Json;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The server side of the gRPC transport: it listens on one port and opens no connection; sites dial
 * out to it, register, heartbeat and answer the tasks it sends down their stream. It is a {@link
 * Transport}, so the round loop drives it like any other.
 *
 * <p>With TLS (the default) sites must present a certificate from the trusted CA that the
 * allow-list names and does not revoke, or the handshake fails; a site's identity is its
 * certificate's common name, and the allow-list says which site ids that certificate may serve. The
 * server refuses to start without a readable, well-formed allow-list; it re-reads it every second,
 * keeping the last good one when it cannot, and revoking a certificate cuts every connection of it.
 * Connections, calls, unregistered streams and refused messages are capped (see the README). Every
 * task carries this server run's id, a task id and a nonce, which the answer must echo: a replayed
 * or stale answer, or one from an earlier run, is refused. Every inbound message is capped before
 * it is read (one chunk of {@value Chunks#SIZE} bytes), and so is every answer, by the size of the
 * model. A site that misses three heartbeats is not sampled until it comes back; one whose stream
 * closes is gone at once, its tasks failed.
 */
public final class GrpcServer implements Transport {
  private final java.util.concurrent.atomic.AtomicBoolean stopped =
      new java.util.concurrent.atomic.AtomicBoolean();

  /** The protocol version sites must speak. */
  public static final int PROTOCOL_VERSION = 2;

  private final InetSocketAddress address;
  private final Optional<TlsFiles> tls;
  private final QuietEvents events;
  private final SiteStream.Run run;
  private final Admission admission;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "grpc-server-timer");
            t.setDaemon(true);
            return t;
          });
  private final Object digestLock = new Object();
  private byte[] lastRequest;
  private ByteString lastDigest;
  private Server server;
  private EventLoopGroup boss;
  private EventLoopGroup workers;

  private GrpcServer(Builder b) {
    this.address = b.address;
    this.tls = b.tls;
    this.events = new QuietEvents(new LoggedEvents(b.events));
    long maxResultBytes = b.maxResultBytes.orElse(Chunks.payloadCap(b.spec));
    this.run =
        new SiteStream.Run(
            maxResultBytes,
            Welcome.newBuilder()
                .setProtocolVersion(PROTOCOL_VERSION)
                .setModelSpecJson(Json.toJson(b.spec))
                .setHeartbeatSeconds((int) b.heartbeat.toSeconds())
                .setMaxResultBytes(maxResultBytes),
            events);
    this.admission =
        new Admission(
            b.tls.isPresent() ? b.allowList : Optional.empty(),
            events,
            b.heartbeat,
            b.registrationDeadline);
  }

  /**
   * A builder for a server of {@code spec}, whose JSON every site receives on joining.
   *
   * @param spec the model of the federation
   * @return the builder
   */
  public static Builder builder(ModelSpec spec) {
    ProtobufRuntime.require();
    return new Builder(spec);
  }

  /**
   * Reads the allow-list, binds the port and starts serving.
   *
   * @return this server
   * @throws IOException when the allow-list is missing, too large or malformed (naming its file and
   *     line), when the TLS files cannot be read, or when the port cannot be bound
   */
  public GrpcServer start() throws IOException {
    ServerCredentials credentials;
    if (tls.isPresent()) {
      admission.load();
      TlsFiles t = tls.get();
      credentials =
          TlsServerCredentials.newBuilder()
              .keyManager(t.certificateChain().toFile(), t.privateKey().toFile())
              .trustManager(
                  ReportingTrust.of(t.trustedCa(), events::refused, admission::refusalAtHandshake))
              .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
              .build();
    } else {
      if (!address.getAddress().isLoopbackAddress()) {
        throw new IllegalArgumentException(
            "an insecure server listens on loopback only, not on " + address);
      }
      credentials = InsecureServerCredentials.create();
    }
    boss =
        new MultiThreadIoEventLoopGroup(
            1, new DefaultThreadFactory("grpc-server-accept", true), NioIoHandler.newFactory());
    workers =
        new MultiThreadIoEventLoopGroup(
            0, new DefaultThreadFactory("grpc-server-io", true), NioIoHandler.newFactory());
    Peers peers = new Peers(admission);
    try {
      server =
          NettyServerBuilder.forAddress(address, credentials)
              .channelFactory(peers.serverChannels())
              .bossEventLoopGroup(boss)
              .workerEventLoopGroup(workers)
              .addTransportFilter(peers)
              .maxInboundMessageSize(Chunks.MAX_MESSAGE)
              .maxInboundMetadataSize(16 << 10)
              .handshakeTimeout(10, TimeUnit.SECONDS)
              .maxConcurrentCallsPerConnection(Caps.CALLS_PER_CONNECTION)
              .maxConnectionIdle(Caps.CONNECTION_IDLE.toSeconds(), TimeUnit.SECONDS)
              .maxConnectionAge(Caps.CONNECTION_AGE.toSeconds(), TimeUnit.SECONDS)
              .maxConnectionAgeGrace(Caps.CONNECTION_AGE_GRACE.toSeconds(), TimeUnit.SECONDS)
              .keepAliveTime(30, TimeUnit.SECONDS)
              .keepAliveTimeout(10, TimeUnit.SECONDS)
              .permitKeepAliveTime(Caps.PERMIT_KEEPALIVE.toSeconds(), TimeUnit.SECONDS)
              .permitKeepAliveWithoutCalls(false)
              .maxRstFramesPerWindow(Caps.RST_FRAMES, Caps.RST_WINDOW_SECONDS)
              .addService(
                  ServerInterceptors.intercept(new Service(), new PeerIdentity(admission, events)))
              .build()
              .start();
    } catch (IOException | RuntimeException e) {
      stopEventLoops();
      throw e;
    }
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
    return new long[] {run.bytesSent.get(), run.bytesReceived.get()};
  }

  /** The sites connected now whose heartbeats are on time, sorted. */
  @Override
  public List<String> siteIds() {
    return admission.siteIds();
  }

  /**
   * Every registered site with the time it was last heard from (any message, heartbeats included)
   * and whether its heartbeats are on time: what an operator's dashboard shows.
   *
   * @return the sites, sorted by id
   */
  public List<ConnectedSite> connectedSites() {
    return admission.connectedSites();
  }

  /**
   * A registered site as the server sees it now.
   *
   * @param siteId the site's id
   * @param lastHeard when the server last heard from it
   * @param onTime false once it has missed three heartbeats (it is not sampled then)
   */
  public record ConnectedSite(String siteId, java.time.Instant lastHeard, boolean onTime) {}

  @Override
  public byte[] exchange(String siteId, byte[] request) throws IOException, InterruptedException {
    SiteStream s =
        admission.stream(siteId)
            .orElseThrow(() -> new IOException("site " + siteId + " is not connected"));
    if (s.stale) {
      throw new IOException("site " + siteId + " missed its heartbeats");
    }
    return s.call(siteId, request, digest(request));
  }

  /** How many streams are open, registered or not. */
  int openStreams() {
    return admission.openStreams();
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

  /**
   * Tells every connected site that the federation is over, so that sites stop dialling, then
   * closes: call it when the last round is done.
   *
   * @param detail what the sites are told, e.g. {@code finished after 15 rounds}
   */
  public void finish(String detail) {
    stop(Farewell.Reason.FINISHED, detail);
  }

  /**
   * Stops listening and closes every connection, telling connected sites that the server stopped
   * (they dial again, as the server may resume); after {@link #finish} it does nothing more.
   */
  @Override
  public void close() {
    stop(Farewell.Reason.STOPPED, "the server stopped");
  }

  private void stop(Farewell.Reason reason, String detail) {
    if (!stopped.compareAndSet(false, true)) {
      return;
    }
    timer.shutdownNow();
    admission.endAll(reason, detail);
    if (server != null) {
      server.shutdownNow();
      try {
        server.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    stopEventLoops();
  }

  private void stopEventLoops() {
    for (EventLoopGroup g : new EventLoopGroup[] {boss, workers}) {
      if (g != null) {
        g.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
      }
    }
  }

  private void housekeeping() {
    try {
      admission.housekeeping();
    } catch (RuntimeException e) {
      events.refused("server", "housekeeping failed: " + e);
    }
  }

  /** The Connect method: one stream per site host, handed to admission and the protocol. */
  private final class Service extends FederationGrpc.FederationImplBase {
    @Override
    public StreamObserver<SiteMessage> connect(StreamObserver<ServerMessage> responses) {
      ServerCallStreamObserver<ServerMessage> stream =
          (ServerCallStreamObserver<ServerMessage>) responses;
      SiteStream s = admission.open(run, PeerIdentity.PEER.get(), new Outbound<>(stream));
      stream.setOnCancelHandler(() -> s.forget("the site's stream was cancelled"));
      return new StreamObserver<>() {
        @Override
        public void onNext(SiteMessage m) {
          s.lastSeen = System.nanoTime();
          switch (m.getKindCase()) {
            case REGISTER -> admission.register(s, m.getRegister());
            case HEARTBEAT -> {}
            case RESULT -> {
              if (s.registered) {
                s.onResult(m.getResult());
              } else {
                admission.refuse(s, "an answer before registering");
              }
            }
            default -> admission.refuse(s, "a message of unknown kind");
          }
        }

        @Override
        public void onError(Throwable t) {
          s.forget("its stream broke: " + Status.fromThrowable(t).getCode());
        }

        @Override
        public void onCompleted() {
          s.end("it closed its stream", Status.OK);
        }
      };
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
     * Something a peer sent or did was refused; nothing else is disturbed. Repeated lines of one
     * kind from one peer are held back after ten a minute, and counted.
     *
     * @param who the certificate and address
     * @param why the reason
     */
    default void refused(String who, String why) {}
  }

  /** Builds a {@link GrpcServer}; the server copies what it was given, so reusing it is safe. */
  public static final class Builder {
    private final ModelSpec spec;
    private InetSocketAddress address = new InetSocketAddress("localhost", 0);
    private Optional<TlsFiles> tls = Optional.empty();
    private Optional<Path> allowList = Optional.empty();
    private boolean insecure;
    private Duration heartbeat = Duration.ofSeconds(5);
    private Duration registrationDeadline = Caps.REGISTRATION_DEADLINE;
    private Optional<Long> maxResultBytes = Optional.empty();
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
     * @param allowListFile the allow-list, read before listening and re-read every second
     * @return this builder
     */
    public Builder tls(TlsFiles files, Path allowListFile) {
      this.tls = Optional.of(Objects.requireNonNull(files, "files"));
      this.allowList = Optional.of(Objects.requireNonNull(allowListFile, "allowListFile"));
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

    /** How long a new stream may take to register (default 10 s); for tests. */
    Builder registrationDeadline(Duration value) {
      this.registrationDeadline = Objects.requireNonNull(value, "registrationDeadline");
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
      if (registrationDeadline.toSeconds() < 1) {
        throw new IllegalArgumentException(
            "the registration deadline must be at least 1 s, was " + registrationDeadline);
      }
      return new GrpcServer(this);
    }
  }
}
