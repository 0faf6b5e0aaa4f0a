package io.mnistfl.data;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A mirror on loopback for tests: serves fixed bodies by path, 404 for anything else, and records
 * every request it saw (as the request line's target, so a proxy's absolute URLs show).
 */
final class LoopbackMirror implements AutoCloseable {
  /** Bytes an endless body writes at most, so that a client that never stops cannot hang a test. */
  static final long ENDLESS_LIMIT = 256L << 20;

  private final HttpServer server;
  private final ExecutorService threads;
  private final Map<String, byte[]> files = new ConcurrentHashMap<>();
  private final Map<String, Long> announced = new ConcurrentHashMap<>();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private final AtomicLong endlessBytes = new AtomicLong();
  private volatile String endlessPath = "";
  private volatile String silentPath = "";
  private volatile String stallingPath = "";
  private final CountDownLatch closing = new CountDownLatch(1);

  LoopbackMirror() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    threads =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "loopback-mirror");
              t.setDaemon(true);
              return t;
            });
    server.setExecutor(threads);
    server.createContext("/", this::handle);
    server.start();
  }

  /** {@code http://127.0.0.1:port} followed by {@code path}. */
  String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  int port() {
    return server.getAddress().getPort();
  }

  LoopbackMirror serve(String path, byte[] body) {
    files.put(path, body);
    return this;
  }

  /** Answers {@code path} with a Content-Length of {@code length} and then no body at all. */
  LoopbackMirror announce(String path, long length) {
    announced.put(path, length);
    return this;
  }

  /** Answers {@code path} with a chunked body of zeros that never ends. */
  LoopbackMirror endless(String path) {
    endlessPath = path;
    return this;
  }

  /** Takes requests for {@code path} and never answers them. */
  LoopbackMirror silent(String path) {
    silentPath = path;
    return this;
  }

  /** Answers {@code path} with its headers and a few bytes of its body, then nothing more. */
  LoopbackMirror stalling(String path) {
    stallingPath = path;
    return this;
  }

  List<String> requests() {
    return List.copyOf(requests);
  }

  long endlessBytesWritten() {
    return endlessBytes.get();
  }

  private void handle(HttpExchange exchange) throws IOException {
    String target = exchange.getRequestURI().toString();
    String path = exchange.getRequestURI().getPath();
    requests.add(target);
    try (exchange) {
      byte[] body = files.get(path);
      Long length = announced.get(path);
      if (body != null) {
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      } else if (length != null) {
        exchange.sendResponseHeaders(200, length);
        exchange.getResponseBody().flush();
      } else if (path.equals(endlessPath)) {
        exchange.sendResponseHeaders(200, 0);
        byte[] zeros = new byte[1 << 16];
        OutputStream out = exchange.getResponseBody();
        while (endlessBytes.get() < ENDLESS_LIMIT) {
          out.write(zeros);
          endlessBytes.addAndGet(zeros.length);
        }
      } else if (path.equals(silentPath)) {
        waitForClose();
      } else if (path.equals(stallingPath)) {
        exchange.sendResponseHeaders(200, 1000);
        OutputStream out = exchange.getResponseBody();
        out.write(new byte[10]);
        out.flush();
        waitForClose();
      } else {
        exchange.sendResponseHeaders(404, -1);
      }
    } catch (IOException e) {
      // The client hung up, as it should on a body over its cap.
    }
  }

  private void waitForClose() {
    try {
      closing.await(60, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    closing.countDown();
    server.stop(0);
    threads.shutdownNow();
  }
}
