/**
 * mnist-fl's network artifact: the gRPC transport with mutual TLS, where sites dial out to the
 * server ({@code io.mnistfl.fl.grpc}), with its PKI tools; and a Flower SuperNode ({@code
 * io.mnistfl.flower}) that lets a site of this library join a federation run by an unmodified
 * Flower SuperLink over Flower's Fleet API, training with its own {@link io.mnistfl.fl.Client}. It
 * brings the libraries it needs (gRPC, protobuf, BouncyCastle), so an application's {@code requires
 * io.mnistfl.grpc;} is enough. Flower's protocol classes, compiled from its {@code .proto} files
 * (Apache-2.0), live in {@code flwr.proto}, ours in {@code io.mnistfl.fl.grpc.proto}; neither is
 * exported.
 */
module io.mnistfl.grpc {
  requires transitive io.mnistfl.api;
  requires com.fasterxml.jackson.core;
  requires com.google.protobuf;
  requires io.grpc;
  requires io.grpc.netty.shaded;
  requires io.grpc.protobuf;
  requires io.grpc.stub;
  requires org.bouncycastle.pkix;
  requires org.bouncycastle.provider;
  requires java.naming;
  // Only the generated future stubs, which this module does not use, name Guava.
  requires static com.google.common;
  // gRPC's blocking calls complete through Guava's futures, which need this explicit module; on
  // the module path nothing else would resolve it (Guava itself is an automatic module).
  requires com.google.common.util.concurrent.internal;

  exports io.mnistfl.fl.grpc;
  exports io.mnistfl.flower;

  // Generated messages describe themselves to protobuf's runtime by reflection.
  opens flwr.proto to
      com.google.protobuf;
  opens io.mnistfl.fl.grpc.proto to
      com.google.protobuf;
}
