/**
 * mnist-fl's network artifact: a Flower SuperNode ({@code io.mnistfl.flower}) that lets a site of
 * this library join a federation run by an unmodified Flower SuperLink over Flower's Fleet API
 * (gRPC), training with its own {@link io.mnistfl.fl.Client}. Flower's protocol classes, compiled
 * from its {@code .proto} files (Apache-2.0), live in {@code flwr.proto} and are not exported.
 */
module io.mnistfl.grpc {
  requires transitive io.mnistfl.api;
  requires com.fasterxml.jackson.core;
  requires com.google.protobuf;
  requires io.grpc;
  requires io.grpc.netty.shaded;
  requires io.grpc.protobuf;
  requires io.grpc.stub;
  // Only the generated future stubs, which this module does not use, name Guava.
  requires static com.google.common;
  // gRPC's blocking calls complete through Guava's futures, which need this explicit module; on
  // the module path nothing else would resolve it (Guava itself is an automatic module).
  requires com.google.common.util.concurrent.internal;

  exports io.mnistfl.flower;

  // Generated messages describe themselves to protobuf's runtime by reflection.
  opens flwr.proto to
      com.google.protobuf;
}
