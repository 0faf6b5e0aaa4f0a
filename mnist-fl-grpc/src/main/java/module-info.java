/**
 * mnist-fl's network transports: the gRPC transport with mutual TLS, where sites dial out to the
 * server ({@code io.mnistfl.fl.grpc}), and its PKI tools. It brings the libraries it needs (gRPC,
 * protobuf, BouncyCastle), so an application's {@code requires io.mnistfl.grpc;} is enough.
 */
module io.mnistfl.grpc {
  requires transitive io.mnistfl.api;
  requires com.google.protobuf;
  requires io.grpc;
  requires io.grpc.netty.shaded;
  requires io.grpc.protobuf;
  requires io.grpc.stub;
  requires org.bouncycastle.pkix;
  requires org.bouncycastle.provider;
  requires java.naming;

  exports io.mnistfl.fl.grpc;
}
