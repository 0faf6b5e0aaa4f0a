package io.mnistfl.fl.grpc;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.mnistfl.internal.Pem;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Takes a site's identity from the certificate it presented in the TLS handshake, never from
 * anything it says: the common name of the certificate's subject, verified by TLS against the
 * server's CA. Without TLS (insecure loopback experiments) there is no identity.
 */
final class PeerIdentity implements ServerInterceptor {
  /** The calling peer's certificate name, empty without TLS. */
  static final Context.Key<Optional<String>> NAME = Context.key("mnistfl-peer-name");

  /** The calling peer's address, for events. */
  static final Context.Key<String> ADDRESS = Context.key("mnistfl-peer-address");

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    SSLSession ssl = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
    SocketAddress remote = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    Optional<String> name = Optional.empty();
    if (ssl != null) {
      try {
        Certificate[] chain = ssl.getPeerCertificates();
        name = Pem.commonName((X509Certificate) chain[0]);
      } catch (SSLPeerUnverifiedException | ClassCastException e) {
        name = Optional.empty();
      }
      if (name.isEmpty()) {
        call.close(
            io.grpc.Status.UNAUTHENTICATED.withDescription(
                "a verified client certificate with a common name is required"),
            new Metadata());
        return new ServerCall.Listener<>() {};
      }
    }
    Context context = Context.current().withValues(NAME, name, ADDRESS, String.valueOf(remote));
    return Contexts.interceptCall(context, call, headers, next);
  }
}
