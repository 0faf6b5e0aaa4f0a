package io.mnistfl.fl;

import io.mnistfl.fl.site.ClientRuntime;
import java.io.IOException;
import java.util.List;

/**
 * How the server reaches sites: bytes in, bytes out, so that a host application can carry them over
 * gRPC, HTTP or a message queue. Requests and answers are {@link io.mnistfl.fl.wire.Messages}
 * encodings, produced and read by the round loop and by {@link ClientRuntime} on the site; a
 * transport only moves them. An exception fails that one site for that stage of the round. Calls
 * may come from several threads at once, and a call still running at the stage's deadline is
 * interrupted.
 */
public interface Transport extends AutoCloseable {

  /**
   * The sites that can be sampled now.
   *
   * @return the ids of the reachable sites
   */
  List<String> siteIds();

  /**
   * Delivers one request to a site and returns its answer.
   *
   * @param siteId the site
   * @param request the encoded request
   * @return the site's encoded answer
   * @throws IOException when the site cannot be reached or fails
   * @throws InterruptedException when the call is interrupted at the stage's deadline
   */
  byte[] exchange(String siteId, byte[] request) throws IOException, InterruptedException;

  /** Releases what the transport holds; the default holds nothing. */
  @Override
  default void close() {}
}
