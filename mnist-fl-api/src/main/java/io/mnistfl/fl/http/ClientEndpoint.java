package io.mnistfl.fl.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.mnistfl.fl.Client;
import io.mnistfl.fl.InProcessTransport;
import io.mnistfl.fl.MessageFormatException;
import io.mnistfl.fl.Messages;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Serves one {@link Client} over HTTP for an {@link HttpTransport}: {@code POST /fit} and {@code
 * POST /evaluate} take a {@link Messages} request and answer with the encoded update or
 * evaluation. A malformed request is answered 400, a failure of the client 500, each with a
 * one-line reason; with a {@link SharedKey}, a request without its valid signature is answered
 * 401 and every answer is signed. Requests are handled one at a time. Uses the JDK's built-in
 * HTTP server.
 */
public final class ClientEndpoint implements AutoCloseable {
  static final String CONTENT_TYPE = "application/x-mnist-fl";

  private final String clientId;
  // Decoding, the call and encoding are what InProcessTransport already does for a local client.
  private final InProcessTransport local;
  private final Optional<SharedKey> key;
  private final HttpServer server;
  private final ExecutorService worker;

  private ClientEndpoint(Client client, Optional<SharedKey> key, HttpServer server) {
    this.clientId = client.id();
    this.local = new InProcessTransport(List.of(client));
    this.key = key;
    this.server = server;
    this.worker = Executors.newSingleThreadExecutor(task -> {
      Thread t = new Thread(task, "client-endpoint-" + client.id());
      t.setDaemon(true);
      return t;
    });
    server.createContext("/fit", exchange -> handle(exchange, true));
    server.createContext("/evaluate", exchange -> handle(exchange, false));
    server.setExecutor(worker);
  }

  /** Starts serving {@code client} on {@code address} (port 0: any free port). */
  public static ClientEndpoint start(Client client, InetSocketAddress address) throws IOException {
    return start(client, address, Optional.empty());
  }

  /** Starts serving {@code client} to servers holding {@code key} only. */
  public static ClientEndpoint start(Client client, InetSocketAddress address, SharedKey key)
      throws IOException {
    return start(client, address, Optional.of(key));
  }

  private static ClientEndpoint start(Client client, InetSocketAddress address,
      Optional<SharedKey> key) throws IOException {
    ClientEndpoint endpoint = new ClientEndpoint(client, key, HttpServer.create(address, 0));
    endpoint.server.start();
    return endpoint;
  }

  /** The port it listens on. */
  public int port() {
    return server.getAddress().getPort();
  }

  /** Its base URI as seen from this host, for {@link HttpTransport}. */
  public URI uri() {
    return URI.create("http://localhost:" + port() + "/");
  }

  private void handle(HttpExchange exchange, boolean fit) throws IOException {
    try (exchange) {
      if (!"POST".equals(exchange.getRequestMethod())) {
        reply(exchange, 405, text("use POST"));
        return;
      }
      byte[] body;
      try (InputStream in = exchange.getRequestBody()) {
        body = in.readAllBytes();
      }
      String path = fit ? "fit" : "evaluate";
      if (key.isPresent() && !SharedKey.matches(Optional.ofNullable(
          exchange.getRequestHeaders().getFirst(SharedKey.HEADER)),
          key.get().signRequest(path, body))) {
        reply(exchange, 401, text("missing or wrong " + SharedKey.HEADER + ": this client"
            + " answers only its federation's server, which signs with their shared key"));
        return;
      }
      byte[] answer;
      try {
        answer = fit ? local.fit(clientId, body) : local.evaluate(clientId, body);
      } catch (MessageFormatException e) {
        reply(exchange, 400, text(e.getMessage()));
        return;
      } catch (RuntimeException e) {
        reply(exchange, 500, text("client " + clientId + " failed: " + e));
        return;
      }
      exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
      if (key.isPresent()) {
        exchange.getResponseHeaders().set(SharedKey.HEADER, key.get().signResponse(body, answer));
      }
      reply(exchange, 200, answer);
    }
  }

  private static byte[] text(String message) {
    return message.replace('\n', ' ').getBytes(StandardCharsets.UTF_8);
  }

  private static void reply(HttpExchange exchange, int status, byte[] body) throws IOException {
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  /** Stops serving; a request in progress gets up to a second to finish. */
  @Override
  public void close() {
    server.stop(1);
    worker.shutdownNow();
  }
}
