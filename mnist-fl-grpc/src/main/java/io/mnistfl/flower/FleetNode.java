package io.mnistfl.flower;

import com.google.protobuf.ByteString;
import flwr.proto.FleetGrpc;
import flwr.proto.FleetOuterClass.ActivateNodeRequest;
import flwr.proto.FleetOuterClass.DeactivateNodeRequest;
import flwr.proto.FleetOuterClass.PullMessagesRequest;
import flwr.proto.FleetOuterClass.PullMessagesResponse;
import flwr.proto.FleetOuterClass.PushMessagesRequest;
import flwr.proto.FleetOuterClass.PushMessagesResponse;
import flwr.proto.FleetOuterClass.RegisterNodeFleetRequest;
import flwr.proto.FleetOuterClass.UnregisterNodeFleetRequest;
import flwr.proto.Heartbeat.SendNodeHeartbeatRequest;
import flwr.proto.MessageOuterClass.ConfirmMessageReceivedRequest;
import flwr.proto.MessageOuterClass.Message;
import flwr.proto.MessageOuterClass.Metadata;
import flwr.proto.MessageOuterClass.ObjectTree;
import flwr.proto.MessageOuterClass.PullObjectRequest;
import flwr.proto.MessageOuterClass.PullObjectResponse;
import flwr.proto.MessageOuterClass.PushObjectRequest;
import flwr.proto.NodeOuterClass.Node;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.mnistfl.fl.Client;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One Flower node: activates (registering itself first when it has no registered key), heartbeats,
 * polls for messages, answers each through the site's {@link Client}, and after any failure of the
 * connection waits (with growing, jittered backoff) and activates again. It runs on a thread of its
 * own; a simulation host runs one per simulated site over one channel.
 */
final class FleetNode implements Runnable {
  /** Deadline of the small calls: activation, heartbeats, polling, confirming, pushing messages. */
  static final Duration CALL_DEADLINE = Duration.ofSeconds(10);

  /** Deadline of one object pull or push (up to 5 MiB). */
  static final Duration OBJECT_DEADLINE = Duration.ofSeconds(60);

  /** How long an announced object may stay unavailable before the message is given up. */
  static final Duration OBJECT_WAIT = Duration.ofSeconds(60);

  /** The largest object accepted: Flower's 5 MiB chunks and their heads, with room to spare. */
  static final int MAX_OBJECT_BYTES = 8 << 20;

  /** The longest TTL accepted on a message (Flower's default is 12 hours). */
  static final double MAX_TTL_SECONDS = 7 * 24 * 3600;

  /** The SuperLink's refusal to activate a node of this key that it still counts online. */
  private static final java.util.regex.Pattern STILL_ONLINE =
      java.util.regex.Pattern.compile("SuperNode with node ID (\\d{1,20}) could not be activated");

  private final FlowerSuperNode.Shared shared;
  private final Client client;
  private final SuperNodeKey key;
  private final boolean selfRegistering;
  private final FleetGrpc.FleetBlockingStub stub;
  private final SiteWork work;
  private volatile boolean active;
  private volatile long nodeId;
  private volatile boolean known;
  private Pending pending;
  private long currentRun;
  private boolean confirmed;
  private ScheduledFuture<?> beat;

  /**
   * A reply not yet delivered; {@code announced} once PushMessages took it; {@code delivered}
   * reports it to the operator once the SuperLink has it all.
   */
  private record Pending(Reply reply, boolean announced, double runtime, Runnable delivered) {}

  FleetNode(
      FlowerSuperNode.Shared shared, Client client, SuperNodeKey key, boolean selfRegistering) {
    this.shared = shared;
    this.client = client;
    this.key = key;
    this.selfRegistering = selfRegistering;
    this.stub =
        FleetGrpc.newBlockingStub(shared.channel())
            .withInterceptors(new NodeAuth(key, shared.clock()));
    this.work = new SiteWork(client, shared.spec(), shared.limits());
  }

  String siteId() {
    return client.id();
  }

  /** This node's id while it is active, unsigned decimal; empty when it is not. */
  String nodeIdText() {
    return active ? Long.toUnsignedString(nodeId) : "";
  }

  boolean active() {
    return active;
  }

  private FleetGrpc.FleetBlockingStub call(Duration deadline) {
    return stub.withDeadlineAfter(deadline.toMillis(), TimeUnit.MILLISECONDS);
  }

  private Node node() {
    return Node.newBuilder().setNodeId(nodeId).build();
  }

  private double now() {
    return shared.clock().millis() / 1000.0;
  }

  @Override
  public void run() {
    try {
      loop();
    } catch (Error e) {
      active = false;
      shared.events().stopped(siteId(), Text.oneLine(e));
      throw e;
    }
  }

  private void loop() {
    long backoff = shared.minBackoff().toMillis();
    while (!shared.closed()) {
      try {
        if (!active) {
          activate();
          backoff = shared.minBackoff().toMillis();
        }
        if (pending != null) {
          deliver();
        }
        if (!poll()) {
          Thread.sleep(shared.pollInterval().toMillis());
        }
      } catch (StatusRuntimeException e) {
        if (shared.closed()) {
          return;
        }
        active = false;
        long wait = backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1);
        shared.events().disconnected(siteId(), why(e), Duration.ofMillis(wait));
        try {
          Thread.sleep(wait);
        } catch (InterruptedException stop) {
          return;
        }
        backoff = Math.min(shared.maxBackoff().toMillis(), backoff * 2);
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        // A bug, not the SuperLink's doing: say so, and carry on after a pause.
        active = false;
        shared
            .events()
            .disconnected(siteId(), "internal error: " + Text.oneLine(e), shared.maxBackoff());
        try {
          Thread.sleep(shared.maxBackoff().toMillis());
        } catch (InterruptedException stop) {
          return;
        }
      }
    }
  }

  /** Becomes active: the same node id again if the SuperLink still knows it, else activation. */
  private void activate() {
    if (known) {
      try {
        if (call(CALL_DEADLINE).sendNodeHeartbeat(heartbeat()).getSuccess()) {
          becomeActive();
          return;
        }
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() == Status.Code.UNAVAILABLE
            || e.getStatus().getCode() == Status.Code.DEADLINE_EXCEEDED) {
          throw e;
        }
        // Not known any more (another SuperLink, a reset database): activate afresh.
      }
    }
    ByteString publicKey = ByteString.copyFrom(key.publicKeyPemBytes());
    if (selfRegistering) {
      try {
        call(CALL_DEADLINE)
            .registerNode(RegisterNodeFleetRequest.newBuilder().setPublicKey(publicKey).build());
      } catch (StatusRuntimeException e) {
        // Registered before this (a SuperLink restart, or a reconnection): activation decides.
        if (e.getStatus().getCode() != Status.Code.FAILED_PRECONDITION) {
          throw e;
        }
      }
    }
    ActivateNodeRequest request =
        ActivateNodeRequest.newBuilder()
            .setPublicKey(publicKey)
            .setHeartbeatInterval(shared.heartbeatInterval().toMillis() / 1000.0)
            .build();
    long id;
    try {
      id = call(CALL_DEADLINE).activateNode(request).getNodeId();
    } catch (StatusRuntimeException e) {
      String d = String.valueOf(e.getStatus().getDescription());
      java.util.regex.Matcher previous = STILL_ONLINE.matcher(d);
      if (e.getStatus().getCode() == Status.Code.FAILED_PRECONDITION && previous.find()) {
        // A node of this key is still online, e.g. this site before a crash or a network cut:
        // end that session and start anew, instead of waiting until it counts as gone.
        try {
          nodeId = Long.parseUnsignedLong(previous.group(1));
        } catch (NumberFormatException tooLarge) {
          throw e;
        }
        call(CALL_DEADLINE)
            .deactivateNode(DeactivateNodeRequest.newBuilder().setNodeId(nodeId).build());
        id = call(CALL_DEADLINE).activateNode(request).getNodeId();
      } else {
        throw e;
      }
    }
    nodeId = id;
    known = true;
    becomeActive();
  }

  private void becomeActive() {
    active = true;
    scheduleBeat();
    shared.events().activated(siteId(), Long.toUnsignedString(nodeId));
  }

  private SendNodeHeartbeatRequest heartbeat() {
    return SendNodeHeartbeatRequest.newBuilder()
        .setNode(node())
        .setHeartbeatInterval(shared.heartbeatInterval().toMillis() / 1000.0)
        .build();
  }

  /** The next heartbeat, at 45–60 % of the interval: the SuperLink waits twice the interval. */
  private synchronized void scheduleBeat() {
    if (beat != null || shared.closed()) {
      return;
    }
    long interval = shared.heartbeatInterval().toMillis();
    long delay = (long) (interval * (0.45 + 0.15 * ThreadLocalRandom.current().nextDouble()));
    try {
      beat = shared.timer().schedule(this::beat, delay, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closing
    }
  }

  private void beat() {
    synchronized (this) {
      beat = null;
    }
    if (!active || shared.closed()) {
      return;
    }
    try {
      if (!call(FlowerSuperNode.HEARTBEAT_DEADLINE).sendNodeHeartbeat(heartbeat()).getSuccess()) {
        // The SuperLink no longer counts this node online: the loop activates it again.
        active = false;
        return;
      }
    } catch (StatusRuntimeException e) {
      // The loop's next call meets the same failure and reconnects; keep beating till then.
    }
    scheduleBeat();
  }

  /** Pulls one message and answers it; false when there was none. */
  private boolean poll() throws InterruptedException {
    PullMessagesResponse r =
        call(CALL_DEADLINE).pullMessages(PullMessagesRequest.newBuilder().setNode(node()).build());
    if (r.getMessagesListCount() == 0) {
      return false;
    }
    Message m = r.getMessagesList(0);
    ObjectTree tree =
        r.getMessageObjectTreesCount() > 0
            ? r.getMessageObjectTrees(0)
            : ObjectTree.getDefaultInstance();
    handle(m.getMetadata(), tree);
    return true;
  }

  /** Answers one message: an error reply for anything the site will not do, never a crash. */
  private void handle(Metadata md, ObjectTree tree) throws InterruptedException {
    String type = md.getMessageType();
    String shown = Text.printable(type, 32);
    double now = now();
    double expires = md.getCreatedAt() + md.getTtl();
    if (!(expires > now)) {
      shared.events().dropped(siteId(), shown + " message " + shortId(md) + " had expired");
      confirm(md);
      return;
    }
    long started = System.nanoTime();
    confirmed = false;
    Reply reply;
    try {
      checkMetadata(md, now);
      boolean train = type.equals("train");
      if (!train && !type.equals("evaluate")) {
        throw new InvalidMessageException(
            "site "
                + siteId()
                + " does not handle messages of type '"
                + shown
                + "' (only train and evaluate)");
      }
      currentRun = md.getRunId();
      Inbound.Content content;
      try {
        content = Inbound.read(md, tree, shared.spec(), this::pullObject);
      } finally {
        confirm(md);
      }
      SiteWork.Answer answer;
      shared.permits().acquire();
      try {
        answer =
            train ? work.train(content, md.getGroupId()) : work.evaluate(content, md.getGroupId());
      } finally {
        shared.permits().release();
      }
      reply =
          Reply.content(
              md,
              nodeId,
              now(),
              answer.weights() == null ? null : content.arraysName(),
              content.keys(),
              answer.weights(),
              FlowerSuperNode.METRICS_RECORD,
              answer.metrics());
      pending =
          new Pending(
              reply,
              false,
              (System.nanoTime() - started) / 1e9,
              () -> shared.events().replied(siteId(), type, answer.summary()));
      deliver();
    } catch (InvalidMessageException e) {
      refuse(md, shown, e.getMessage(), started);
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.PERMISSION_DENIED) {
        // The run stopped while the site pulled: nobody waits for a reply.
        shared.events().dropped(siteId(), shown + " message " + shortId(md) + ": " + why(e));
        return;
      }
      throw e;
    } catch (RuntimeException | OutOfMemoryError | StackOverflowError e) {
      refuse(md, shown, "site " + siteId() + " failed: " + Text.oneLine(e), started);
    }
  }

  private void refuse(Metadata md, String type, String reason, long started) {
    if (!confirmed) {
      confirm(md);
    }
    String line = Text.printable(reason, 1000);
    pending =
        new Pending(
            Reply.error(md, nodeId, now(), Reply.CLIENT_APP_RAISED_EXCEPTION, line),
            false,
            (System.nanoTime() - started) / 1e9,
            () -> shared.events().refused(siteId(), type, line));
    deliver();
  }

  /** The bounds on a message's own fields, before anything of it is pulled. */
  private void checkMetadata(Metadata md, double now) throws InvalidMessageException {
    if (!(md.getTtl() > 0 && md.getTtl() <= MAX_TTL_SECONDS)) {
      throw new InvalidMessageException(
          "message ttl " + md.getTtl() + " s is outside (0, " + (long) MAX_TTL_SECONDS + "]");
    }
    if (md.getCreatedAt() > now + 24 * 3600) {
      throw new InvalidMessageException(
          "message created_at " + md.getCreatedAt() + " lies more than a day ahead");
    }
    if (md.getDstNodeId() != nodeId) {
      throw new InvalidMessageException(
          "message is addressed to node "
              + Long.toUnsignedString(md.getDstNodeId())
              + ", this is node "
              + Long.toUnsignedString(nodeId));
    }
  }

  private static String shortId(Metadata md) {
    return Text.printable(md.getMessageId(), 12);
  }

  private void confirm(Metadata md) {
    confirmed = true;
    try {
      call(CALL_DEADLINE)
          .confirmMessageReceived(
              ConfirmMessageReceivedRequest.newBuilder()
                  .setNode(node())
                  .setRunId(md.getRunId())
                  .setMessageObjectId(md.getMessageId())
                  .build());
    } catch (StatusRuntimeException e) {
      // Confirming only lets the SuperLink free the objects early; the reply matters more.
    }
  }

  /** One object's bytes; waits while the SuperLink announces it but does not have it yet. */
  private byte[] pullObject(String id) throws InvalidMessageException {
    long end = System.nanoTime() + OBJECT_WAIT.toNanos();
    long sleep = 50;
    while (true) {
      PullObjectResponse r;
      try {
        r =
            call(OBJECT_DEADLINE)
                .pullObject(
                    PullObjectRequest.newBuilder()
                        .setNode(node())
                        .setRunId(currentRun)
                        .setObjectId(id)
                        .build());
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED) {
          throw new InvalidMessageException(
              "object "
                  + id
                  + " is larger than the "
                  + (MAX_OBJECT_BYTES >> 20)
                  + " MiB the site accepts");
        }
        throw e;
      }
      if (!r.getObjectFound()) {
        throw new InvalidMessageException("the SuperLink does not hold object " + id);
      }
      if (r.getObjectAvailable()) {
        if (r.getObjectContent().size() > MAX_OBJECT_BYTES) {
          throw new InvalidMessageException(
              "object "
                  + id
                  + " is "
                  + r.getObjectContent().size()
                  + " bytes, the site accepts at most "
                  + MAX_OBJECT_BYTES);
        }
        return r.getObjectContent().toByteArray();
      }
      if (System.nanoTime() > end) {
        throw new InvalidMessageException(
            "object "
                + id
                + " was announced but not available within "
                + OBJECT_WAIT.toSeconds()
                + " s");
      }
      try {
        Thread.sleep(sleep);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InvalidMessageException("the site is stopping");
      }
      sleep = Math.min(1000, sleep * 2);
    }
  }

  /**
   * Pushes the pending reply (announces it, then sends the objects the SuperLink asks for); a
   * connection failure leaves it pending for after the reconnection.
   */
  private void deliver() {
    Pending p = pending;
    if (p == null) {
      return;
    }
    try {
      push(p);
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() != Status.Code.PERMISSION_DENIED) {
        throw e;
      }
      // The run ended meanwhile: nobody waits for the reply.
      shared
          .events()
          .dropped(siteId(), "the reply " + p.reply().id().substring(0, 12) + ": " + why(e));
      pending = null;
    }
  }

  private void push(Pending p) {
    Reply reply = p.reply();
    if (now() >= reply.expiresAt()) {
      shared
          .events()
          .dropped(
              siteId(),
              "the reply " + reply.id().substring(0, 12) + " expired before the SuperLink took it");
      pending = null;
      return;
    }
    Metadata md = reply.message().getMetadata();
    Iterable<String> objects;
    if (!p.announced()) {
      PushMessagesResponse r =
          call(CALL_DEADLINE)
              .pushMessages(
                  PushMessagesRequest.newBuilder()
                      .setNode(node())
                      .addMessagesList(reply.message())
                      .addMessageObjectTrees(reply.tree())
                      .addClientappRuntimeList(p.runtime())
                      .build());
      Map<String, Integer> results = r.getResultsMap();
      if (!results.containsKey(reply.id())) {
        shared
            .events()
            .dropped(
                siteId(),
                "the SuperLink refused the reply to "
                    + Text.printable(md.getReplyToMessageId(), 12)
                    + " (it checks a reply's ids and TTL against the message; its log says which)");
        pending = null;
        return;
      }
      pending = new Pending(reply, true, p.runtime(), p.delivered());
      objects = r.getObjectsToPushList();
    } else {
      objects = reply.objects().keySet();
    }
    for (String id : objects) {
      byte[] bytes = reply.objects().get(id);
      if (bytes == null) {
        continue; // not ours to send
      }
      boolean stored =
          call(OBJECT_DEADLINE)
              .pushObject(
                  PushObjectRequest.newBuilder()
                      .setNode(node())
                      .setRunId(md.getRunId())
                      .setObjectId(id)
                      .setObjectContent(ByteString.copyFrom(bytes))
                      .build())
              .getStored();
      if (!stored && !p.announced()) {
        shared
            .events()
            .dropped(siteId(), "the SuperLink did not store object " + id + " of the reply");
        pending = null;
        return;
      }
    }
    pending = null;
    p.delivered().run();
  }

  /** Ends this node's session on the SuperLink, as Flower's SuperNode does on exit. */
  void deactivate() {
    if (!known) {
      return;
    }
    try {
      call(FlowerSuperNode.HEARTBEAT_DEADLINE)
          .deactivateNode(DeactivateNodeRequest.newBuilder().setNodeId(nodeId).build());
      if (selfRegistering) {
        call(FlowerSuperNode.HEARTBEAT_DEADLINE)
            .unregisterNode(UnregisterNodeFleetRequest.newBuilder().setNodeId(nodeId).build());
      }
    } catch (StatusRuntimeException e) {
      // The SuperLink is gone or has forgotten the node: nothing to end.
    }
    active = false;
  }

  /** One line on why a call failed, with what the operator can do about the usual causes. */
  static String why(StatusRuntimeException e) {
    Status s = e.getStatus();
    String d = s.getDescription() == null ? "" : Text.printable(s.getDescription(), 300);
    if (e.getCause() != null && (d.isEmpty() || d.equals("io exception"))) {
      d = Text.printable(Text.oneLine(e.getCause()), 300);
    }
    return switch (s.getCode()) {
      case UNAVAILABLE -> "the SuperLink is unreachable (" + d + ")";
      case DEADLINE_EXCEEDED -> "the SuperLink did not answer in time";
      case UNAUTHENTICATED ->
          d.contains("timestamp")
              ? "the SuperLink refused the node's signed timestamp ("
                  + d
                  + "): this machine's clock"
                  + " differs from the SuperLink's by more than the 5 s (fast) to 275 s (slow) it"
                  + " accepts"
              : "the SuperLink refused the node's authentication (" + d + ")";
      case FAILED_PRECONDITION ->
          d.contains("No SuperNode found")
              ? "the SuperLink knows no SuperNode with this public key ("
                  + d
                  + "): register it"
                  + " first with `flwr supernode register KEY.pub`"
              : d.contains("must be registered via the CLI")
                  ? "the SuperLink requires registered SuperNodes ("
                      + d
                      + "): give the node a key"
                      + " registered with `flwr supernode register`"
                  : "the SuperLink refused: " + d;
      default -> "the SuperLink answered " + s.getCode() + (d.isEmpty() ? "" : ": " + d);
    };
  }
}
