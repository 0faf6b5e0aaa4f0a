package io.mnistfl.fl.grpc;

/**
 * Fails fast, naming the artifact to fix, when the libraries on the class path cannot run this
 * transport. The usual case: TensorFlow brings protobuf-java 3.21.9, and where it wins over the
 * version this artifact needs, the generated messages fail deep inside gRPC with {@code
 * NoClassDefFoundError: com/google/protobuf/RuntimeVersion$RuntimeDomain}.
 */
final class ProtobufRuntime {
  /** The protobuf-java the messages were generated for, and the least they run on. */
  static final String PROTOBUF = "4.31.1";

  private ProtobufRuntime() {}

  /**
   * Checks the protobuf runtime before any generated message is touched.
   *
   * @throws IllegalStateException naming the version found and the artifact to import
   */
  static void require() {
    try {
      Class.forName(
          "com.google.protobuf.RuntimeVersion", false, ProtobufRuntime.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      String found =
          String.valueOf(
              com.google.protobuf.MessageLite.class.getPackage().getImplementationVersion());
      throw new IllegalStateException(
          "the gRPC transport needs com.google.protobuf:protobuf-java "
              + PROTOBUF
              + " or newer, but the class path holds an older one ("
              + ("null".equals(found) ? "without RuntimeVersion" : found)
              + "), e.g. TensorFlow's 3.21.9: import io.mnistfl:mnist-fl-bom in your"
              + " dependencyManagement (scope import), or pin protobuf-java "
              + PROTOBUF);
    }
  }
}
