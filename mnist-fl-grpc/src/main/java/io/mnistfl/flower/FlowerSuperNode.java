package io.mnistfl.flower;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.mnistfl.fl.Client;
import io.mnistfl.fl.site.SiteLimits;
import io.mnistfl.model.ModelSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * A Flower SuperNode in Java: it connects a site of this library to an unmodified Flower SuperLink
 * (Flower 1.25 to 1.29; tested against 1.29.0) over Flower's Fleet API, receives the ServerApp's
 * {@code train} and {@code evaluate} messages, trains and evaluates with the site's {@link Client},
 * and replies exactly as a Python SuperNode running a NumPy ClientApp would, so that Flower's
 * strategies (FedAvg and the rest) cannot tell the difference. No Python runs at the site. It dials
 * out and never listens.
 *
 * <p>The messages and replies, with the key names a mixed federation shares:
 *
 * <ul>
 *   <li>{@code train}: an ArrayRecord of the model's arrays, float32, in the model's order, keyed
 *       {@code "0"}, {@code "1"}, … (as {@code ArrayRecord(list_of_ndarrays)} makes them) or by the
 *       model's names ({@code conv2d_0/kernel}, …); a ConfigRecord (FedAvg's {@code config}) with
 *       {@code lr} (double), {@code local-epochs}, {@code batch-size}, {@code server-round}
 *       (integers) and, for FedProx, {@code proximal-mu}; absent ones default to the model spec's
 *       learning rate and batch size, 1 epoch. The reply: the trained arrays under the received
 *       ArrayRecord's name and keys, in the received order, and a MetricRecord {@code metrics} with
 *       {@value #TRAIN_LOSS}, {@value #TRAIN_ACCURACY} (doubles) and {@value #NUM_EXAMPLES} (an
 *       integer, FedAvg's weight).
 *   <li>{@code evaluate}: the same arrays; the reply's MetricRecord {@code metrics} holds {@value
 *       #LOSS}, {@value #ACCURACY} and {@value #NUM_EXAMPLES} of the site's held-out data.
 *   <li>Anything else (another message type, arrays that do not match the model's count, keys,
 *       order, shapes or dtype, a config value of the wrong type or range, a request beyond the
 *       site's {@link SiteLimits}, a malformed or oversized object) gets an error reply (code 2)
 *       whose reason names the field; the node goes on.
 * </ul>
 *
 * <p>Everything from the SuperLink is bounded before it is held: objects (8 MiB), the object tree
 * (4,096 objects), records, arrays (the bytes their shape allows), ConfigRecords (64 KiB, 256
 * items), message TTLs (7 days); every call has a deadline. One instance hosts one node per client
 * over one connection: a real site has one, a simulation host many.
 */
public final class FlowerSuperNode implements AutoCloseable {
  /** The train reply's mean training loss of the last local epoch. */
  public static final String TRAIN_LOSS = "train-loss";

  /** The train reply's training accuracy of the last local epoch. */
  public static final String TRAIN_ACCURACY = "train-accuracy";

  /** The example count, in train and evaluate replies: what FedAvg weighs by. */
  public static final String NUM_EXAMPLES = "num-examples";

  /** The evaluate reply's mean loss on the held-out data. */
  public static final String LOSS = "loss";

  /** The evaluate reply's accuracy on the held-out data. */
  public static final String ACCURACY = "accuracy";

  /** The name of the replies' MetricRecord. */
  public static final String METRICS_RECORD = "metrics";

  /** Heartbeats and the calls made while closing wait this long at most. */
  static final Duration HEARTBEAT_DEADLINE = Duration.ofSeconds(5);

  /** The largest gRPC message taken from the SuperLink: one object and its envelope. */
  static final int MAX_INBOUND_BYTES = FleetNode.MAX_OBJECT_BYTES + (1 << 20);

  /** What the nodes share: the connection, the model, limits, settings and the training permits. */
  record Shared(
      ManagedChannel channel,
      ModelSpec spec,
      SiteLimits limits,
      Events events,
      Semaphore permits,
      ScheduledExecutorService timer,
      Clock clock,
      Duration heartbeatInterval,
      Duration pollInterval,
      Duration minBackoff,
      Duration maxBackoff,
      FlowerSuperNode owner) {
    boolean closed() {
      return owner.closed;
    }
  }

  /** What happens to the nodes, for the site's operator; every method defaults to nothing. */
  public interface Events {
    /**
     * A node was activated (again, after a reconnection) and polls for messages.
     *
     * @param site the client's id
     * @param nodeId the node's id on the SuperLink, unsigned decimal
     */
    default void activated(String site, String nodeId) {}

    /**
     * A node answered a message.
     *
     * @param site the client's id
     * @param messageType {@code train} or {@code evaluate}
     * @param summary one line: round, examples, loss, accuracy
     */
    default void replied(String site, String messageType, String summary) {}

    /**
     * A node answered a message with an error reply.
     *
     * @param site the client's id
     * @param messageType the message's type, as received (printable characters only)
     * @param reason the reply's reason, naming what was wrong
     */
    default void refused(String site, String messageType, String reason) {}

    /**
     * A message or a reply was given up: expired, its run stopped, or refused by the SuperLink.
     *
     * @param site the client's id
     * @param why one line
     */
    default void dropped(String site, String why) {}

    /**
     * A node lost the SuperLink or could not reach it; it tries again after {@code retryIn}.
     *
     * @param site the client's id
     * @param why one line, with the remedy for the usual causes (an unregistered key, a clock)
     * @param retryIn the wait before the next attempt
     */
    default void disconnected(String site, String why, Duration retryIn) {}

    /**
     * A node stopped for good on an error of the JVM itself (a class missing from the class or
     * module path, say); the other nodes go on.
     *
     * @param site the client's id
     * @param why the error, one line
     */
    default void stopped(String site, String why) {}
  }

  private final Builder b;
  private final ManagedChannel channel;
  private final ScheduledExecutorService timer;
  private final List<FleetNode> nodes = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean closed;

  private FlowerSuperNode(Builder b) throws IOException {
    this.b = b;
    ChannelCredentials credentials =
        b.rootCertificates.isPresent()
            ? TlsChannelCredentials.newBuilder()
                .trustManager(b.rootCertificates.get().toFile())
                .build()
            : InsecureChannelCredentials.create();
    this.channel =
        NettyChannelBuilder.forAddress(b.host, b.port, credentials)
            .maxInboundMessageSize(MAX_INBOUND_BYTES)
            .build();
    this.timer =
        Executors.newScheduledThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "flower-heartbeat");
              t.setDaemon(true);
              return t;
            });
    Shared shared =
        new Shared(
            channel,
            b.spec,
            b.limits,
            b.events,
            new Semaphore(b.parallelism),
            timer,
            Clock.systemUTC(),
            b.heartbeatInterval,
            b.pollInterval,
            b.minBackoff,
            b.maxBackoff,
            this);
    for (Client c : b.clients) {
      SuperNodeKey key = b.authKey.orElseGet(SuperNodeKey::generate);
      FleetNode node = new FleetNode(shared, c, key, b.authKey.isEmpty());
      nodes.add(node);
      Thread t = new Thread(node, "flower-node-" + c.id());
      t.setDaemon(true);
      threads.add(t);
    }
  }

  /**
   * A builder for nodes that dial the SuperLink's Fleet API at {@code host:port}.
   *
   * @param host the SuperLink's host, as its TLS certificate names it
   * @param port its Fleet API port (Flower's default is 9092)
   * @return the builder
   */
  public static Builder builder(String host, int port) {
    return new Builder(host, port);
  }

  /**
   * Starts the nodes, in the background.
   *
   * @return this
   */
  public FlowerSuperNode start() {
    threads.forEach(Thread::start);
    return this;
  }

  /**
   * Waits until every node is active.
   *
   * @param timeout how long to wait
   * @return whether they all are
   * @throws InterruptedException when interrupted
   */
  public boolean awaitActivated(Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (!nodes.stream().allMatch(FleetNode::active)) {
      if (System.nanoTime() > end) {
        return false;
      }
      Thread.sleep(20);
    }
    return true;
  }

  /**
   * The SuperLink's id of each active node, by client id.
   *
   * @return client id to node id (unsigned decimal), for the nodes active now
   */
  public Map<String, String> nodeIds() {
    Map<String, String> ids = new LinkedHashMap<>();
    for (FleetNode n : nodes) {
      String id = n.nodeIdText();
      if (!id.isEmpty()) {
        ids.put(n.siteId(), id);
      }
    }
    return ids;
  }

  /**
   * Stops: ends each node's session on the SuperLink (deactivates it, and unregisters a node that
   * registered itself) and closes the connection. A message being trained on is abandoned.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    threads.forEach(Thread::interrupt);
    for (Thread t : threads) {
      try {
        t.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    timer.shutdownNow();
    nodes.forEach(FleetNode::deactivate);
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "FlowerSuperNode["
        + b.host
        + ":"
        + b.port
        + ", "
        + nodes.size()
        + " node"
        + (nodes.size() == 1 ? "" : "s")
        + "]";
  }

  /** Builds a {@link FlowerSuperNode}. */
  public static final class Builder {
    private final String host;
    private final int port;
    private boolean insecure;
    private Optional<Path> rootCertificates = Optional.empty();
    private Optional<SuperNodeKey> authKey = Optional.empty();
    private List<Client> clients = List.of();
    private ModelSpec spec;
    private SiteLimits limits = SiteLimits.defaults();
    private int parallelism = 1;
    private Duration heartbeatInterval = Duration.ofSeconds(30);
    private Duration pollInterval = Duration.ofSeconds(3);
    private Duration minBackoff = Duration.ofSeconds(1);
    private Duration maxBackoff = Duration.ofSeconds(30);
    private Events events = new Events() {};

    private Builder(String host, int port) {
      this.host = Objects.requireNonNull(host, "host");
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port must be in 1..65535, was " + port);
      }
      this.port = port;
    }

    /**
     * No TLS: for a SuperLink started with {@code --insecure}, on loopback or a trusted network.
     *
     * @return this builder
     */
    public Builder insecure() {
      this.insecure = true;
      return this;
    }

    /**
     * TLS, trusting the SuperLink's certificate when it chains to this CA (PEM): Flower's {@code
     * --root-certificates}.
     *
     * @param caFile the CA certificate
     * @return this builder
     */
    public Builder rootCertificates(Path caFile) {
      this.rootCertificates = Optional.of(caFile);
      return this;
    }

    /**
     * The node's registered key, for a SuperLink with SuperNode authentication ({@code
     * --enable-supernode-auth}); one client only. Without it each node makes a fresh key and
     * registers itself, which only a SuperLink without authentication allows.
     *
     * @param key the key, registered with {@code flwr supernode register}
     * @return this builder
     */
    public Builder authKey(SuperNodeKey key) {
      this.authKey = Optional.of(key);
      return this;
    }

    /**
     * The site: one client, one node.
     *
     * @param client trains and evaluates
     * @return this builder
     */
    public Builder client(Client client) {
      return clients(List.of(client));
    }

    /**
     * A simulation host's sites: one node per client, over one connection.
     *
     * @param value the clients, with distinct ids
     * @return this builder
     */
    public Builder clients(List<? extends Client> value) {
      this.clients = List.copyOf(value);
      return this;
    }

    /**
     * The model the clients train, whose arrays every message must carry in its order, shapes and
     * dtype.
     *
     * @param value the spec
     * @return this builder
     */
    public Builder model(ModelSpec value) {
      this.spec = Objects.requireNonNull(value, "model");
      return this;
    }

    /**
     * What the site will do for any ServerApp (default {@link SiteLimits#defaults()}).
     *
     * @param value the limits
     * @return this builder
     */
    public Builder limits(SiteLimits value) {
      this.limits = Objects.requireNonNull(value, "limits");
      return this;
    }

    /**
     * How many nodes train at once (default 1; a simulation host: its model workers).
     *
     * @param value at least 1
     * @return this builder
     */
    public Builder parallelism(int value) {
      this.parallelism = value;
      return this;
    }

    /**
     * The heartbeat interval announced to the SuperLink (default 30 s, as Flower's; 10 s to 30
     * minutes). The SuperLink counts a silent node offline after twice this.
     *
     * @param value the interval
     * @return this builder
     */
    public Builder heartbeatInterval(Duration value) {
      this.heartbeatInterval = Objects.requireNonNull(value, "heartbeatInterval");
      return this;
    }

    /**
     * How often an idle node asks for messages (default 3 s, as Flower's).
     *
     * @param value the interval
     * @return this builder
     */
    public Builder pollInterval(Duration value) {
      this.pollInterval = Objects.requireNonNull(value, "pollInterval");
      return this;
    }

    /**
     * The waits between reconnection attempts: from {@code min}, doubling up to {@code max}, with
     * jitter (default 1 s to 30 s).
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
     * Where the nodes report what happens.
     *
     * @param value the listener
     * @return this builder
     */
    public Builder events(Events value) {
      this.events = Objects.requireNonNull(value, "events");
      return this;
    }

    /**
     * The SuperNode, not yet started.
     *
     * @return the node(s)
     * @throws IOException when the CA file cannot be read
     * @throws IllegalArgumentException naming the setting that is missing or out of range
     */
    public FlowerSuperNode build() throws IOException {
      if (insecure == rootCertificates.isPresent()) {
        throw new IllegalArgumentException(
            "a SuperNode needs exactly one of insecure() and rootCertificates(CA)");
      }
      if (clients.isEmpty() || spec == null) {
        throw new IllegalArgumentException("a SuperNode needs its client(s) and model(spec)");
      }
      if (authKey.isPresent() && clients.size() != 1) {
        throw new IllegalArgumentException(
            "authKey is one node's identity; " + clients.size() + " clients need one each");
      }
      if (new HashSet<>(clients.stream().map(Client::id).toList()).size() != clients.size()) {
        throw new IllegalArgumentException("two clients share an id");
      }
      if (parallelism < 1) {
        throw new IllegalArgumentException("parallelism must be >= 1, was " + parallelism);
      }
      if (heartbeatInterval.compareTo(Duration.ofSeconds(10)) < 0
          || heartbeatInterval.compareTo(Duration.ofMinutes(30)) > 0) {
        throw new IllegalArgumentException(
            "heartbeatInterval must be 10 s to 30 min (the SuperLink's range), was "
                + heartbeatInterval);
      }
      if (pollInterval.isNegative() || pollInterval.isZero()) {
        throw new IllegalArgumentException("pollInterval must be positive");
      }
      if (minBackoff.isNegative() || minBackoff.isZero() || maxBackoff.compareTo(minBackoff) < 0) {
        throw new IllegalArgumentException("backoff needs 0 < min <= max");
      }
      if (rootCertificates.isPresent() && !java.nio.file.Files.isReadable(rootCertificates.get())) {
        throw new IOException(rootCertificates.get() + ": cannot read the CA certificate");
      }
      return new FlowerSuperNode(this);
    }
  }
}
