package io.mnistfl.fl.grpc;

import com.google.protobuf.ByteString;
import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.mnistfl.fl.grpc.proto.FederationGrpc;
import io.mnistfl.fl.grpc.proto.Heartbeat;
import io.mnistfl.fl.grpc.proto.Register;
import io.mnistfl.fl.grpc.proto.ResultChunk;
import io.mnistfl.fl.grpc.proto.ServerMessage;
import io.mnistfl.fl.grpc.proto.SiteMessage;
import io.mnistfl.fl.grpc.proto.TaskChunk;
import io.mnistfl.fl.grpc.proto.Welcome;
import io.mnistfl.fl.site.ClientRuntime;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.train.Json;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The site side of the gRPC transport: it dials out to the server (and never listens), registers
 * its sites, heartbeats, and answers each task through the site's {@link ClientRuntime}, which
 * checks every request against the site's limits. A real site hosts one site id; a simulation host
 * serves many that share one model pool. It learns the model from the server, verifies the server's
 * certificate against its CA, and after a server restart or a network failure reconnects by itself
 * with exponential backoff and carries on.
 */
public final class GrpcSiteHost implements AutoCloseable {
  private static final Pattern IPV4 =
      Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");
  private static final Pattern IPV6 = Pattern.compile("(?=.*:)[0-9A-Fa-f:][0-9A-Fa-f:.]*");

  private final List<String> sites;
  private final RuntimeFactory factory;
  private final Duration heartbeat;
  private final Duration minBackoff;
  private final Duration maxBackoff;
  private final Events events;
  private final ManagedChannel channel;
  private final ExecutorService work;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "grpc-site-heartbeat");
            t.setDaemon(true);
            return t;
          });
  private final Thread loop;
  private final CountDownLatch firstWelcome = new CountDownLatch(1);
  private final java.util.concurrent.CompletableFuture<FederationEnd> end =
      new java.util.concurrent.CompletableFuture<>();
  private volatile boolean closed;
  private volatile Map<String, ClientRuntime> runtimes = Map.of();
  private volatile Optional<ModelSpec> spec = Optional.empty();
  private volatile long maxTaskBytes;

  /** The payloads received most recently, by SHA-256, for tasks that reference them. */
  private final LinkedHashMap<ByteString, byte[]> payloads = new LinkedHashMap<>();

  private GrpcSiteHost(Builder b) throws IOException {
    this.sites = b.sites;
    this.factory = b.runtimes;
    this.heartbeat = b.heartbeat;
    this.minBackoff = b.minBackoff;
    this.maxBackoff = b.maxBackoff;
    this.events = b.events;
    ChannelCredentials credentials;
    if (b.tls.isPresent()) {
      TlsFiles t = b.tls.get();
      credentials =
          TlsChannelCredentials.newBuilder()
              .keyManager(t.certificateChain().toFile(), t.privateKey().toFile())
              .trustManager(t.trustedCa().toFile())
              .build();
    } else {
      credentials = InsecureChannelCredentials.create();
    }
    NettyChannelBuilder channelBuilder =
        NettyChannelBuilder.forAddress(b.host, b.port, credentials)
            .maxInboundMessageSize(Chunks.MAX_MESSAGE)
            .keepAliveTime(30, TimeUnit.SECONDS)
            .keepAliveTimeout(10, TimeUnit.SECONDS);
    b.serverName.ifPresent(channelBuilder::overrideAuthority);
    this.channel = channelBuilder.build();
    this.work =
        Executors.newFixedThreadPool(
            b.parallelism,
            r -> {
              Thread t = new Thread(r, "grpc-site-task");
              t.setDaemon(true);
              return t;
            });
    this.loop = new Thread(this::run, "grpc-site-connection");
    loop.setDaemon(true);
  }

  /**
   * A builder for sites that dial {@code host:port}.
   *
   * @param host the server's host name, as its certificate names it
   * @param port the server's port
   * @return the builder
   */
  public static Builder builder(String host, int port) {
    ProtobufRuntime.require();
    return new Builder(host, port);
  }

  /** Makes the sites' runtimes once the server has said which model it federates. */
  @FunctionalInterface
  public interface RuntimeFactory {
    /**
     * The runtime of every site this host serves, for the server's model.
     *
     * @param spec the model the server sent
     * @return each site id's runtime
     * @throws IOException when the sites' data cannot be loaded
     */
    Map<String, ClientRuntime> create(ModelSpec spec) throws IOException;
  }

  /** What happens on the host's connection, for its operator; all default to nothing. */
  public interface Events {
    /**
     * The server admitted the sites.
     *
     * @param sites the admitted sites
     */
    default void joined(List<String> sites) {}

    /**
     * The connection ended or could not be made; the host tries again after {@code retryIn}.
     *
     * @param why the reason
     * @param retryIn the backoff before the next attempt
     */
    default void disconnected(String why, Duration retryIn) {}

    /**
     * The server ended the stream on purpose and said why; after a final end ({@link
     * FederationEnd#isFinal()}) the host stops dialling.
     *
     * @param end the reason and the server's words
     */
    default void ended(FederationEnd end) {}
  }

  /**
   * Starts connecting, in the background.
   *
   * @return this host
   */
  public GrpcSiteHost start() {
    loop.start();
    return this;
  }

  /**
   * Waits until the server has admitted the sites once.
   *
   * @param timeout how long to wait
   * @return whether it has
   * @throws InterruptedException when interrupted
   */
  public boolean awaitJoined(Duration timeout) throws InterruptedException {
    return firstWelcome.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Waits until the server says the federation is over for this host: it finished, or it refused
   * the host's sites. A server that only stops (and may resume) is dialled again meanwhile.
   *
   * @param timeout how long to wait
   * @return the end, or empty when the wait is over first
   * @throws InterruptedException when interrupted
   */
  public Optional<FederationEnd> awaitEnd(Duration timeout) throws InterruptedException {
    try {
      return Optional.of(end.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
    } catch (java.util.concurrent.TimeoutException e) {
      return Optional.empty();
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(e.getCause());
    }
  }

  /** Stops: closes the connection and waits briefly for running tasks. */
  @Override
  public void close() {
    closed = true;
    loop.interrupt();
    timer.shutdownNow();
    work.shutdownNow();
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
      loop.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void run() {
    long backoffMillis = minBackoff.toMillis();
    while (!closed) {
      Session session = new Session();
      String why;
      try {
        why = session.run();
      } catch (InterruptedException e) {
        return;
      }
      if (closed || end.isDone()) {
        return;
      }
      if (session.welcomed) {
        backoffMillis = minBackoff.toMillis();
      }
      long wait = backoffMillis / 2 + ThreadLocalRandom.current().nextLong(backoffMillis / 2 + 1);
      LoggedEvents.SITE.log(
          System.Logger.Level.INFO,
          "disconnected: {0}; dialling again in {1} s",
          why,
          String.format("%.1f", wait / 1e3));
      events.disconnected(why, Duration.ofMillis(wait));
      try {
        Thread.sleep(wait);
      } catch (InterruptedException e) {
        return;
      }
      backoffMillis = Math.min(maxBackoff.toMillis(), backoffMillis * 2);
    }
  }

  /** One stream, from registering until it ends. */
  private final class Session implements ClientResponseObserver<SiteMessage, ServerMessage> {
    private final CountDownLatch ended = new CountDownLatch(1);
    private final Map<Long, Incoming> incoming = new HashMap<>();
    private volatile String why = "the stream ended";
    private volatile Outbound<SiteMessage> out;
    private volatile boolean welcomed;
    private volatile boolean stopped;
    private ByteString runId = ByteString.EMPTY;

    String run() throws InterruptedException {
      FederationGrpc.newStub(channel).connect(this);
      ScheduledFuture<?> beats = null;
      try {
        out.send(
            SiteMessage.newBuilder()
                .setRegister(
                    Register.newBuilder()
                        .setProtocolVersion(GrpcServer.PROTOCOL_VERSION)
                        .addAllSiteIds(sites))
                .build());
        beats =
            timer.scheduleAtFixedRate(
                () -> beat(), heartbeat.toMillis(), heartbeat.toMillis(), TimeUnit.MILLISECONDS);
        ended.await();
      } catch (IllegalStateException e) {
        // The stream failed before it opened: its error says why.
        ended.await(10, TimeUnit.SECONDS);
      } finally {
        if (beats != null) {
          beats.cancel(false);
        }
        out.complete();
      }
      return why;
    }

    private long beats;

    private void beat() {
      try {
        out.send(
            SiteMessage.newBuilder()
                .setHeartbeat(Heartbeat.newBuilder().setSequence(++beats))
                .build());
      } catch (InterruptedException | IllegalStateException e) {
        // the stream ended; the session notices
      }
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<SiteMessage> requests) {
      out = new Outbound<>(requests);
    }

    @Override
    public void onNext(ServerMessage m) {
      switch (m.getKindCase()) {
        case WELCOME -> welcome(m.getWelcome());
        case TASK -> task(m.getTask());
        case FAREWELL -> farewell(m.getFarewell());
        default -> stop("the server sent a message of unknown kind");
      }
    }

    /** The server's last word: why it ends the stream; a final one ends the host's dialling. */
    private void farewell(io.mnistfl.fl.grpc.proto.Farewell f) {
      FederationEnd.Reason reason =
          switch (f.getReason()) {
            case FINISHED -> FederationEnd.Reason.FINISHED;
            case REFUSED -> FederationEnd.Reason.REFUSED;
            default -> FederationEnd.Reason.STOPPED;
          };
      FederationEnd e = new FederationEnd(reason, f.getDetail().replaceAll("[^ -~]", "?"));
      why = "the server ended the stream (" + reason.name().toLowerCase() + "): " + e.detail();
      stopped = true;
      LoggedEvents.SITE.log(
          e.reason() == FederationEnd.Reason.REFUSED
              ? System.Logger.Level.WARNING
              : System.Logger.Level.INFO,
          why);
      events.ended(e);
      if (e.isFinal()) {
        end.complete(e);
      }
      ended.countDown();
    }

    private void stop(String reason) {
      why = reason;
      // Failing the stream cancels the call, whose onError must not replace this reason.
      stopped = true;
      out.fail(io.grpc.Status.INVALID_ARGUMENT.withDescription(reason).asRuntimeException());
      ended.countDown();
    }

    private void welcome(Welcome w) {
      if (w.getProtocolVersion() != GrpcServer.PROTOCOL_VERSION) {
        stop(
            "the server speaks protocol version "
                + w.getProtocolVersion()
                + ", this site speaks "
                + GrpcServer.PROTOCOL_VERSION);
        return;
      }
      if (w.getModelSpecJson().length() > 1 << 20) {
        stop("the server's model description is larger than 1 MiB");
        return;
      }
      try {
        ModelSpec received = Json.parse(w.getModelSpecJson(), ModelSpec.class);
        if (spec.isEmpty() || !spec.get().equals(received)) {
          runtimes = Map.copyOf(factory.create(received));
          maxTaskBytes = Chunks.payloadCap(received);
          spec = Optional.of(received);
        }
      } catch (IOException | RuntimeException e) {
        stop("cannot take part in the server's model: " + e.getMessage());
        return;
      }
      runId = w.getRunId();
      welcomed = true;
      LoggedEvents.SITE.log(
          System.Logger.Level.INFO, "joined as {0}", LoggedEvents.summary(w.getSiteIdsList()));
      events.joined(w.getSiteIdsList());
      firstWelcome.countDown();
    }

    private void task(TaskChunk t) {
      if (!welcomed || !t.getRunId().equals(runId)) {
        stop("a task before the welcome, or from another server run");
        return;
      }
      byte[] payload;
      try {
        if (t.getCached()) {
          synchronized (payloads) {
            payload = payloads.get(t.getPayloadSha256());
          }
          if (payload == null) {
            answer(t, null, "the payload it refers to is not held here");
            return;
          }
        } else {
          Incoming in = incoming.get(t.getTaskId());
          if (in == null) {
            in =
                new Incoming(
                    new Chunks.Assembler(t.getTotalSize(), maxTaskBytes, "task " + t.getTaskId()));
            incoming.put(t.getTaskId(), in);
          }
          payload = in.assembler.add(t.getData(), t.getLast());
          if (payload == null) {
            return;
          }
          incoming.remove(t.getTaskId());
          if (!t.getPayloadSha256().equals(ByteString.copyFrom(GrpcServer.sha256(payload)))) {
            answer(t, null, "the payload does not match its digest");
            return;
          }
          synchronized (payloads) {
            payloads.put(t.getPayloadSha256(), payload);
            while (payloads.size() > 2) {
              payloads.remove(payloads.keySet().iterator().next());
            }
          }
        }
      } catch (IOException e) {
        incoming.remove(t.getTaskId());
        answer(t, null, e.getMessage());
        return;
      }
      byte[] request = payload;
      work.execute(
          () -> {
            ClientRuntime site = runtimes.get(t.getSiteId());
            if (site == null) {
              answer(t, null, "this host does not serve site " + t.getSiteId());
              return;
            }
            try {
              answer(t, site.handle(request), "");
            } catch (Exception | Error e) {
              answer(t, null, e.getMessage() != null ? e.getMessage() : e.toString());
            }
          });
    }

    /** Sends the answer in chunks, or the error. */
    private void answer(TaskChunk t, byte[] answer, String error) {
      ResultChunk.Builder r =
          ResultChunk.newBuilder()
              .setSiteId(t.getSiteId())
              .setTaskId(t.getTaskId())
              .setRunId(t.getRunId())
              .setNonce(t.getNonce());
      try {
        if (answer == null) {
          out.send(
              SiteMessage.newBuilder()
                  .setResult(r.setError(error.isEmpty() ? "failed" : error).setLast(true))
                  .build());
          return;
        }
        List<ByteString> chunks = Chunks.split(answer);
        for (int i = 0; i < chunks.size(); i++) {
          out.send(
              SiteMessage.newBuilder()
                  .setResult(
                      r.setTotalSize(answer.length)
                          .setData(chunks.get(i))
                          .setLast(i == chunks.size() - 1))
                  .build());
        }
      } catch (InterruptedException | IllegalStateException e) {
        // the stream ended; the server counts the task as failed
      }
    }

    @Override
    public void onError(Throwable t) {
      if (!stopped) {
        why = "the connection failed: " + LoggedEvents.describe(io.grpc.Status.fromThrowable(t));
      }
      out.close();
      ended.countDown();
    }

    @Override
    public void onCompleted() {
      if (!stopped) {
        why = "the server closed the stream";
      }
      out.close();
      ended.countDown();
    }
  }

  /**
   * Whether {@code host} names this machine: {@code localhost}, or an IP literal of a loopback
   * address. No name is resolved: a name that DNS could point anywhere is not loopback.
   */
  static boolean loopback(String host) {
    String h =
        host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    if (h.equalsIgnoreCase("localhost")) {
      return true;
    }
    Matcher v4 = IPV4.matcher(h);
    if (v4.matches()) {
      for (int i = 1; i <= 4; i++) {
        if (Integer.parseInt(v4.group(i)) > 255) {
          return false;
        }
      }
      return Integer.parseInt(v4.group(1)) == 127;
    }
    if (IPV6.matcher(h).matches()) {
      try {
        // A text with a colon is parsed as an IPv6 literal, never looked up.
        return InetAddress.getByName(h).isLoopbackAddress();
      } catch (UnknownHostException e) {
        return false;
      }
    }
    return false;
  }

  /** A task whose chunks are arriving. */
  private record Incoming(Chunks.Assembler assembler) {}

  /** Builds a {@link GrpcSiteHost}. */
  public static final class Builder {
    private final String host;
    private final int port;
    private Optional<TlsFiles> tls = Optional.empty();
    private boolean insecure;
    private Optional<String> serverName = Optional.empty();
    private List<String> sites = List.of();
    private RuntimeFactory runtimes;
    private int parallelism = 1;
    private Duration heartbeat = Duration.ofSeconds(5);
    private Duration minBackoff = Duration.ofMillis(500);
    private Duration maxBackoff = Duration.ofSeconds(30);
    private Events events = new Events() {};

    private Builder(String host, int port) {
      this.host = Objects.requireNonNull(host, "host");
      this.port = port;
    }

    /**
     * Mutual TLS: this site's certificate and key, and the CA of the server's certificate.
     *
     * @param files the site's TLS files
     * @return this builder
     */
    public Builder tls(TlsFiles files) {
      this.tls = Optional.of(files);
      return this;
    }

    /**
     * No TLS, for loopback experiments against an insecure server: the host must be {@code
     * localhost} or a loopback IP literal, decided from the text alone, without resolving it.
     *
     * @return this builder
     */
    public Builder insecure() {
      this.insecure = true;
      return this;
    }

    /**
     * The name the server's certificate must carry, when it is not the host dialled.
     *
     * @param value the name
     * @return this builder
     */
    public Builder serverName(String value) {
      this.serverName = Optional.of(value);
      return this;
    }

    /**
     * The site ids this host serves.
     *
     * @param ids one, or a simulation host's range
     * @return this builder
     */
    public Builder sites(List<String> ids) {
      this.sites = List.copyOf(ids);
      return this;
    }

    /**
     * How the sites' runtimes are made once the model is known.
     *
     * @param value the factory
     * @return this builder
     */
    public Builder runtimes(RuntimeFactory value) {
      this.runtimes = Objects.requireNonNull(value, "runtimes");
      return this;
    }

    /**
     * How many tasks run at once (default 1; a simulation host: its model workers).
     *
     * @param value the count
     * @return this builder
     */
    public Builder parallelism(int value) {
      this.parallelism = value;
      return this;
    }

    /**
     * How often to heartbeat (default 5 s, the server's default).
     *
     * @param value the interval
     * @return this builder
     */
    public Builder heartbeat(Duration value) {
      this.heartbeat = Objects.requireNonNull(value, "heartbeat");
      return this;
    }

    /**
     * The backoff between reconnection attempts: it starts at {@code min} and doubles up to {@code
     * max}, with jitter (default 0.5 s to 30 s).
     *
     * @param min the first wait
     * @param max the longest wait
     * @return this builder
     */
    public Builder backoff(Duration min, Duration max) {
      this.minBackoff = Objects.requireNonNull(min, "min");
      this.maxBackoff = Objects.requireNonNull(max, "max");
      return this;
    }

    /**
     * Where joins and disconnections are reported.
     *
     * @param value the listener
     * @return this builder
     */
    public Builder events(Events value) {
      this.events = Objects.requireNonNull(value, "events");
      return this;
    }

    /**
     * The host, not yet started.
     *
     * @return the host
     * @throws IOException when the TLS files cannot be read
     */
    public GrpcSiteHost build() throws IOException {
      if (tls.isEmpty() && !insecure) {
        throw new IllegalArgumentException(
            "a site needs TLS files, or an explicit insecure()" + " for loopback experiments");
      }
      if (tls.isEmpty() && !loopback(host)) {
        throw new IllegalArgumentException(
            "an insecure site dials loopback only (localhost, 127.0.0.1, ::1), not " + host);
      }
      if (sites.isEmpty() || runtimes == null) {
        throw new IllegalArgumentException(
            "a site host needs its site ids and a runtime" + " factory");
      }
      if (parallelism < 1) {
        throw new IllegalArgumentException("parallelism must be >= 1, was " + parallelism);
      }
      return new GrpcSiteHost(this);
    }
  }
}
