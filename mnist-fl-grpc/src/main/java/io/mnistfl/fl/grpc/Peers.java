package io.mnistfl.fl.grpc;

import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.ServerTransportFilter;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelFactory;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.ServerChannel;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * The server's TCP connections: each accepted socket is kept by its remote address, so that once
 * its TLS handshake is done it becomes a {@link Peer} with its certificate, and admission can close
 * it whatever its calls are doing. gRPC gives no handle on a connection; the server's own channel
 * factory is how this gets one.
 */
final class Peers extends ServerTransportFilter {
  /** The transport attribute holding a connection's peer. */
  static final Attributes.Key<Peer> PEER = Attributes.Key.create("mnistfl-peer");

  private final Map<SocketAddress, Channel> sockets = new ConcurrentHashMap<>();
  private final Admission admission;

  Peers(Admission admission) {
    this.admission = admission;
  }

  /** Listening channels that note every socket they accept until it closes. */
  ChannelFactory<ServerChannel> serverChannels() {
    return () -> {
      NioServerSocketChannel listening = new NioServerSocketChannel();
      listening
          .pipeline()
          .addLast(
              new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object accepted) {
                  if (accepted instanceof Channel socket && socket.remoteAddress() != null) {
                    SocketAddress remote = socket.remoteAddress();
                    sockets.put(remote, socket);
                    socket.closeFuture().addListener(f -> sockets.remove(remote, socket));
                  }
                  ctx.fireChannelRead(accepted);
                }
              });
      return listening;
    };
  }

  @Override
  public Attributes transportReady(Attributes transport) {
    SocketAddress remote = transport.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    Optional<Channel> socket = Optional.ofNullable(remote).map(sockets::get);
    SSLSession tls = transport.get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    Optional<CertificateId> id = Optional.empty();
    Optional<String> unusable = Optional.empty();
    if (tls != null) {
      try {
        Certificate[] chain = tls.getPeerCertificates();
        id = Optional.of(CertificateId.of((X509Certificate) chain[0]));
      } catch (SSLPeerUnverifiedException | CertificateException | ClassCastException e) {
        unusable = Optional.of("no usable client certificate: " + e.getMessage());
      }
    }
    Peer peer = new Peer(id, String.valueOf(remote), socket);
    admission.connected(peer, tls != null, unusable);
    return transport.toBuilder().set(PEER, peer).build();
  }

  @Override
  public void transportTerminated(Attributes transport) {
    Peer peer = transport == null ? null : transport.get(PEER);
    if (peer != null) {
      admission.disconnected(peer);
    }
  }
}
