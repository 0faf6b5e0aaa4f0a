package io.mnistfl.flower;

import com.google.protobuf.ByteString;
import flwr.proto.FleetGrpc;
import flwr.proto.FleetOuterClass.ActivateNodeRequest;
import flwr.proto.FleetOuterClass.ActivateNodeResponse;
import flwr.proto.FleetOuterClass.DeactivateNodeRequest;
import flwr.proto.FleetOuterClass.DeactivateNodeResponse;
import flwr.proto.FleetOuterClass.PullMessagesRequest;
import flwr.proto.FleetOuterClass.PullMessagesResponse;
import flwr.proto.FleetOuterClass.PushMessagesRequest;
import flwr.proto.FleetOuterClass.PushMessagesResponse;
import flwr.proto.FleetOuterClass.RegisterNodeFleetRequest;
import flwr.proto.FleetOuterClass.RegisterNodeFleetResponse;
import flwr.proto.FleetOuterClass.UnregisterNodeFleetRequest;
import flwr.proto.FleetOuterClass.UnregisterNodeFleetResponse;
import flwr.proto.Heartbeat.SendNodeHeartbeatRequest;
import flwr.proto.Heartbeat.SendNodeHeartbeatResponse;
import flwr.proto.MessageOuterClass.ConfirmMessageReceivedRequest;
import flwr.proto.MessageOuterClass.ConfirmMessageReceivedResponse;
import flwr.proto.MessageOuterClass.Message;
import flwr.proto.MessageOuterClass.ObjectTree;
import flwr.proto.MessageOuterClass.PullObjectRequest;
import flwr.proto.MessageOuterClass.PullObjectResponse;
import flwr.proto.MessageOuterClass.PushObjectRequest;
import flwr.proto.MessageOuterClass.PushObjectResponse;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.OffsetDateTime;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A SuperLink of the test's own on 127.0.0.1, scripted: it serves the messages and objects it is
 * given (hostile ones included, byte for byte as given) and records what the node pushes. Every
 * call's authentication headers are verified as Flower's SuperLink verifies them.
 */
final class StandInSuperLink implements AutoCloseable {
  /** A node id above {@code Long.MAX_VALUE}, as unsigned 64-bit ids often are. */
  static final long NODE_ID = 0xF00D_0000_0000_0001L;

  final BlockingQueue<TestMessages.Built> toSend = new LinkedBlockingQueue<>();
  final Map<String, byte[]> served = new ConcurrentHashMap<>();
  final BlockingQueue<PushMessagesRequest> pushed = new LinkedBlockingQueue<>();
  final Map<String, byte[]> received = new ConcurrentHashMap<>();
  final List<String> authFailures = new CopyOnWriteArrayList<>();
  final List<String> calls = new CopyOnWriteArrayList<>();
  final AtomicInteger heartbeats = new AtomicInteger();
  volatile boolean knowsNode = true;
  private final Server server;

  StandInSuperLink(int port) throws IOException {
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port))
            .maxInboundMessageSize(64 << 20)
            .addService(ServerInterceptors.intercept(new Fleet(), new AuthCheck()))
            .build()
            .start();
  }

  int port() {
    return server.getPort();
  }

  /** Queues a message; its objects are served once it has been pulled. */
  void send(TestMessages.Built m) {
    toSend.add(m);
  }

  /** The next reply the node pushed, or null after {@code seconds}. */
  Message nextReply(int seconds) throws InterruptedException {
    PushMessagesRequest r = nextPush(seconds);
    return r == null ? null : r.getMessagesList(0);
  }

  /**
   * The next PushMessages request whose objects have all arrived, or null after {@code seconds}.
   */
  PushMessagesRequest nextPush(int seconds) throws InterruptedException {
    return pushed.poll(seconds, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }

  /** Checks the headers as Flower's NodeAuthServerInterceptor does. */
  private final class AuthCheck implements ServerInterceptor {
    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      byte[] pem = headers.get(NodeAuth.PUBLIC_KEY);
      String timestamp = headers.get(NodeAuth.TIMESTAMP);
      byte[] signature = headers.get(NodeAuth.SIGNATURE);
      String method = call.getMethodDescriptor().getBareMethodName();
      calls.add(method);
      try {
        if (pem == null || timestamp == null || signature == null) {
          throw new IllegalStateException("missing authentication metadata");
        }
        String text = new String(pem, StandardCharsets.US_ASCII);
        if (!text.startsWith("-----BEGIN PUBLIC KEY-----\n")
            || !text.endsWith("-----END PUBLIC KEY-----\n")) {
          throw new IllegalStateException("the key is not PEM as cryptography writes it");
        }
        String b64 = text.replaceAll("-----[A-Z ]+-----", "").replace("\n", "");
        PublicKey key =
            KeyFactory.getInstance("EC")
                .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(b64)));
        Signature v = Signature.getInstance("SHA256withECDSA");
        v.initVerify(key);
        v.update(timestamp.getBytes(StandardCharsets.US_ASCII));
        if (!v.verify(signature)) {
          throw new IllegalStateException("invalid signature");
        }
        double age =
            (System.currentTimeMillis()
                    - OffsetDateTime.parse(timestamp).toInstant().toEpochMilli())
                / 1000.0;
        if (!(age > -5 && age < 305)) {
          throw new IllegalStateException("invalid timestamp " + timestamp);
        }
      } catch (Exception e) {
        authFailures.add(method + ": " + e.getMessage());
        call.close(Status.UNAUTHENTICATED.withDescription(e.getMessage()), new Metadata());
        return new ServerCall.Listener<>() {};
      }
      return next.startCall(call, headers);
    }
  }

  private final class Fleet extends FleetGrpc.FleetImplBase {
    @Override
    public void registerNode(
        RegisterNodeFleetRequest r, StreamObserver<RegisterNodeFleetResponse> out) {
      out.onNext(RegisterNodeFleetResponse.newBuilder().setNodeId(NODE_ID).build());
      out.onCompleted();
    }

    @Override
    public void activateNode(ActivateNodeRequest r, StreamObserver<ActivateNodeResponse> out) {
      if (r.getHeartbeatInterval() < 10 || r.getHeartbeatInterval() > 1800) {
        out.onError(Status.INVALID_ARGUMENT.withDescription("interval").asRuntimeException());
        return;
      }
      knowsNode = true;
      out.onNext(ActivateNodeResponse.newBuilder().setNodeId(NODE_ID).build());
      out.onCompleted();
    }

    @Override
    public void deactivateNode(
        DeactivateNodeRequest r, StreamObserver<DeactivateNodeResponse> out) {
      out.onNext(DeactivateNodeResponse.getDefaultInstance());
      out.onCompleted();
    }

    @Override
    public void unregisterNode(
        UnregisterNodeFleetRequest r, StreamObserver<UnregisterNodeFleetResponse> out) {
      out.onNext(UnregisterNodeFleetResponse.getDefaultInstance());
      out.onCompleted();
    }

    @Override
    public void sendNodeHeartbeat(
        SendNodeHeartbeatRequest r, StreamObserver<SendNodeHeartbeatResponse> out) {
      heartbeats.incrementAndGet();
      out.onNext(
          SendNodeHeartbeatResponse.newBuilder()
              .setSuccess(knowsNode && r.getNode().getNodeId() == NODE_ID)
              .build());
      out.onCompleted();
    }

    @Override
    public void pullMessages(PullMessagesRequest r, StreamObserver<PullMessagesResponse> out) {
      PullMessagesResponse.Builder b = PullMessagesResponse.newBuilder();
      TestMessages.Built m = toSend.poll();
      if (m != null) {
        served.putAll(m.objects());
        b.addMessagesList(Message.newBuilder().setMetadata(m.metadata()));
        b.addMessageObjectTrees(m.tree());
      }
      out.onNext(b.build());
      out.onCompleted();
    }

    @Override
    public void pullObject(PullObjectRequest r, StreamObserver<PullObjectResponse> out) {
      byte[] bytes = served.get(r.getObjectId());
      PullObjectResponse.Builder b = PullObjectResponse.newBuilder();
      if (bytes != null) {
        b.setObjectFound(true)
            .setObjectAvailable(true)
            .setObjectContent(ByteString.copyFrom(bytes));
      }
      out.onNext(b.build());
      out.onCompleted();
    }

    @Override
    public void confirmMessageReceived(
        ConfirmMessageReceivedRequest r, StreamObserver<ConfirmMessageReceivedResponse> out) {
      out.onNext(ConfirmMessageReceivedResponse.getDefaultInstance());
      out.onCompleted();
    }

    @Override
    public void pushMessages(PushMessagesRequest r, StreamObserver<PushMessagesResponse> out) {
      PushMessagesResponse.Builder b = PushMessagesResponse.newBuilder();
      Message m = r.getMessagesList(0);
      b.putResults(m.getMetadata().getMessageId(), 0);
      collect(r.getMessageObjectTrees(0), b);
      out.onNext(b.build());
      out.onCompleted();
      if (m.hasError()) {
        pushed.add(r);
      } else {
        pending = r;
      }
    }

    private volatile PushMessagesRequest pending;

    private void collect(ObjectTree t, PushMessagesResponse.Builder b) {
      if (!b.getObjectsToPushList().contains(t.getObjectId())) {
        b.addObjectsToPush(t.getObjectId());
      }
      for (ObjectTree c : t.getChildrenList()) {
        collect(c, b);
      }
    }

    @Override
    public void pushObject(PushObjectRequest r, StreamObserver<PushObjectResponse> out) {
      byte[] bytes = r.getObjectContent().toByteArray();
      boolean ok = FlowerObject.id(bytes).equals(r.getObjectId());
      if (ok) {
        received.put(r.getObjectId(), bytes);
      }
      out.onNext(PushObjectResponse.newBuilder().setStored(ok).build());
      out.onCompleted();
      PushMessagesRequest p = pending;
      if (p != null && allReceived(p.getMessageObjectTrees(0))) {
        pending = null;
        pushed.add(p);
      }
    }

    private boolean allReceived(ObjectTree t) {
      if (!received.containsKey(t.getObjectId())) {
        return false;
      }
      for (ObjectTree c : t.getChildrenList()) {
        if (!allReceived(c)) {
          return false;
        }
      }
      return true;
    }
  }
}
