package io.mnistfl.flower;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * Flower's SuperNode authentication, on every Fleet call (the SuperLink requires it even without
 * TLS): the node's public key as PEM, a timestamp, and its ECDSA/SHA-256 signature of that
 * timestamp's ASCII bytes.
 */
final class NodeAuth implements ClientInterceptor {
  static final Metadata.Key<byte[]> PUBLIC_KEY =
      Metadata.Key.of("flwr-public-key-bin", Metadata.BINARY_BYTE_MARSHALLER);
  static final Metadata.Key<String> TIMESTAMP =
      Metadata.Key.of("flwr-timestamp", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<byte[]> SIGNATURE =
      Metadata.Key.of("flwr-signature-bin", Metadata.BINARY_BYTE_MARSHALLER);

  /**
   * The SuperLink accepts a timestamp from 305 s behind its clock to 5 s ahead of it. Signing a
   * time 30 s in the past centres that window, so a site whose clock runs up to 35 s fast (not only
   * 5 s) still gets in; it changes nothing else, since the timestamp only proves freshness.
   */
  static final Duration BACKDATE = Duration.ofSeconds(30);

  /** Python's {@code datetime.isoformat()} of an aware UTC time: microseconds and an offset. */
  private static final DateTimeFormatter ISO =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSS'+00:00'").withZone(ZoneOffset.UTC);

  private final SuperNodeKey key;
  private final byte[] publicKeyPem;
  private final Clock clock;

  NodeAuth(SuperNodeKey key, Clock clock) {
    this.key = key;
    this.publicKeyPem = key.publicKeyPemBytes();
    this.clock = clock;
  }

  /** The timestamp header's value for now. */
  String timestamp() {
    return ISO.format(clock.instant().minus(BACKDATE));
  }

  @Override
  public <Q, R> ClientCall<Q, R> interceptCall(
      MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
      @Override
      public void start(Listener<R> listener, Metadata headers) {
        String now = timestamp();
        headers.put(PUBLIC_KEY, publicKeyPem);
        headers.put(TIMESTAMP, now);
        headers.put(SIGNATURE, key.sign(now.getBytes(StandardCharsets.US_ASCII)));
        super.start(listener, headers);
      }
    };
  }
}
