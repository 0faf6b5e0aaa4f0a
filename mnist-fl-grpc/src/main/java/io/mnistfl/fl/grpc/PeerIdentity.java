package io.mnistfl.fl.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Takes a call's identity from its connection, whose certificate the TLS handshake verified, never
 * from anything the peer says, and lets admission refuse the call before any of it is read: a
 * connection being cut, a certificate no longer allowed, or one with too many calls open. Without
 * TLS (insecure loopback experiments) there is no identity.
 */
final class PeerIdentity implements ServerInterceptor {
  /** The calling connection. */
  static final Context.Key<Peer> PEER = Context.key("mnistfl-peer");

  private final Admission admission;
  private final GrpcServer.Events events;

  PeerIdentity(Admission admission, GrpcServer.Events events) {
    this.admission = admission;
    this.events = events;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Peer peer = call.getAttributes().get(Peers.PEER);
    Optional<Status> no =
        peer == null
            ? Optional.of(Status.UNAUTHENTICATED.withDescription("a connection of no known peer"))
            : admission.admitCall(peer);
    if (no.isPresent()) {
      if (peer != null) {
        events.refused(peer.who(), "a call: " + no.get().getDescription());
      }
      call.close(no.get(), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    AtomicBoolean ended = new AtomicBoolean();
    Runnable release =
        () -> {
          if (ended.compareAndSet(false, true)) {
            admission.callEnded(peer);
          }
        };
    ServerCall.Listener<Q> listener;
    try {
      listener =
          Contexts.interceptCall(Context.current().withValue(PEER, peer), call, headers, next);
    } catch (RuntimeException e) {
      release.run();
      throw e;
    }
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
      @Override
      public void onComplete() {
        try {
          super.onComplete();
        } finally {
          release.run();
        }
      }

      @Override
      public void onCancel() {
        try {
          super.onCancel();
        } finally {
          release.run();
        }
      }
    };
  }
}
