package io.mnistfl.fl.grpc;

import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/** One TCP connection to the server, and the certificate it presented in the handshake. */
final class Peer {
  /** The certificate, verified by TLS; empty on an insecure server. */
  final Optional<CertificateId> certificate;

  /** The peer's address and port, for events. */
  final String address;

  /** Messages refused on this connection so far. */
  final AtomicInteger refusals = new AtomicInteger();

  private final Optional<Channel> channel;
  private final AtomicBoolean cut = new AtomicBoolean();
  private volatile String cutFor = "";

  Peer(Optional<CertificateId> certificate, String address, Optional<Channel> channel) {
    this.certificate = certificate;
    this.address = address;
    this.channel = channel;
  }

  /** The certificate's name, or an insecure peer, and the address. */
  String who() {
    return certificate.map(c -> "certificate " + c.name()).orElse("insecure peer")
        + " at "
        + address;
  }

  /** Whether the connection is being closed by the server. */
  boolean isCut() {
    return cut.get();
  }

  /** Why the connection is being closed; empty when it is not. */
  String cutFor() {
    return cutFor;
  }

  /**
   * Marks the connection cut: calls it opens from now on are refused.
   *
   * @param why the reason, for those calls
   * @return false when it was cut already
   */
  boolean cut(String why) {
    if (!cut.compareAndSet(false, true)) {
      return false;
    }
    cutFor = why;
    return true;
  }

  /** Closes the connection after a moment in which the calls just ended can tell the peer why. */
  void close() {
    channel.ifPresent(
        c -> {
          try {
            c.eventLoop().schedule(() -> closeSocket(c), 300, TimeUnit.MILLISECONDS);
          } catch (RejectedExecutionException e) {
            c.close();
          }
        });
  }

  /**
   * Closes the socket itself. Closing the channel would go through gRPC's HTTP/2 handler, which
   * sends GOAWAY and waits for the peer to finish its streams: a hostile peer never does.
   */
  private static void closeSocket(Channel c) {
    ChannelHandlerContext first = c.pipeline().firstContext();
    if (first != null) {
      first.close();
    } else {
      c.close();
    }
  }
}
