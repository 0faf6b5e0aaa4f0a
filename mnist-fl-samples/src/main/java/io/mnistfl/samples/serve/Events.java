package io.mnistfl.samples.serve;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Semaphore;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Blocker;
import org.eclipse.jetty.util.Callback;

/**
 * Server-sent events: {@code /api/runs/{id}/events} sends the run's rounds whenever its files
 * change (checked twice a second), and a comment every 10 s so that idle connections stay open. A
 * bounded number of pages may follow at once.
 */
final class Events {
  /** Pages that may follow runs at once; more get 429. */
  static final int MAX_STREAMS = 16;

  private static final long POLL_MILLIS = 500;
  private static final long KEEP_ALIVE_MILLIS = 10_000;

  private final Runs runs;
  private final Semaphore streams = new Semaphore(MAX_STREAMS);
  private volatile boolean stopping;

  Events(Runs runs) {
    this.runs = runs;
  }

  /** Ends every stream: the server is stopping. */
  void stop() {
    stopping = true;
  }

  /** Streams run {@code id}'s rounds until the page goes away or the server stops. */
  void stream(String id, Response response, Callback callback)
      throws Refusal.Thrown, InterruptedException {
    runs.folder(id);
    if (!streams.tryAcquire()) {
      throw Refusal.of(429, MAX_STREAMS + " pages are following runs already; try again later");
    }
    try {
      response.setStatus(200);
      Router.securityHeaders(response);
      response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
      response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
      long seen = -1;
      long quietSince = System.currentTimeMillis();
      write(response, ": following " + id + "\nretry: 2000\n\n");
      while (!stopping) {
        long version = runs.version(id);
        if (version != seen) {
          seen = version;
          String data;
          try {
            data = io.mnistfl.train.Json.toJson(runs.rounds(id)).replace("\n", "");
          } catch (Refusal.Thrown | IOException e) {
            data = "{\"error\":" + io.mnistfl.train.Json.toJson(e.getMessage()) + "}";
          }
          write(response, "event: rounds\ndata: " + data + "\n\n");
          quietSince = System.currentTimeMillis();
        } else if (System.currentTimeMillis() - quietSince > KEEP_ALIVE_MILLIS) {
          write(response, ": still following\n\n");
          quietSince = System.currentTimeMillis();
        }
        Thread.sleep(POLL_MILLIS);
      }
      response.write(true, ByteBuffer.allocate(0), callback);
    } catch (IOException e) {
      // The page went away.
      callback.failed(e);
    } finally {
      streams.release();
    }
  }

  private static void write(Response response, String text) throws IOException {
    try (Blocker.Callback cb = Blocker.callback()) {
      response.write(false, ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), cb);
      cb.block();
    }
  }
}
