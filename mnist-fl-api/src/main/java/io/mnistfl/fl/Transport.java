package io.mnistfl.fl;

import java.io.IOException;
import java.util.List;

/**
 * How the server reaches clients: bytes in, bytes out, so a host application can carry them over
 * HTTP, gRPC or a message queue. Requests and responses are {@link Messages} encodings; a
 * transport only moves them. Any exception fails that one client for that round.
 */
public interface Transport extends AutoCloseable {

  /** The clients that can be sampled now. */
  List<String> clientIds();

  /** Delivers an encoded fit request to a client and returns its encoded {@link ClientUpdate}. */
  byte[] fit(String clientId, byte[] request) throws IOException;

  /** Delivers an encoded evaluate request and returns the encoded {@link ClientEvaluation}. */
  byte[] evaluate(String clientId, byte[] request) throws IOException;

  @Override
  default void close() {}
}
