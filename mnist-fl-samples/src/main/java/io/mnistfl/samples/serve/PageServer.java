package io.mnistfl.samples.serve;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The page's HTTP server (Jetty's core handlers, no servlets): one connector on one address, a
 * bounded thread pool, small header and idle limits, and the {@link Router} behind a {@link Guard}.
 */
final class PageServer implements AutoCloseable {
  private final Server server;
  private final ServerConnector connector;
  private final Events events;
  private final Guard guard;
  private final String host;
  private final Runs runs;

  private PageServer(Builder b) throws IOException {
    QueuedThreadPool threads = new QueuedThreadPool(48, 4);
    threads.setName("serve");
    threads.setDaemon(true);
    server = new Server(threads);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendDateHeader(false);
    http.setRequestHeaderSize(16 << 10);
    connector = new ServerConnector(server, 1, 1, new HttpConnectionFactory(http));
    connector.setHost(b.host);
    connector.setPort(b.port);
    connector.setIdleTimeout(30_000);
    server.addConnector(connector);
    // Jetty's own refusals (a malformed or ambiguous URI, headers too large) in the page's JSON.
    server.setErrorHandler(
        (request, response, callback) -> {
          Object message = request.getAttribute(ErrorHandler.ERROR_MESSAGE);
          Router.error(
              response,
              callback,
              response.getStatus() == 0 ? 500 : response.getStatus(),
              message == null ? "refused" : message.toString());
          return true;
        });
    host = b.host;
    runs = new Runs(b.runs, b.follow);
    events = new Events(runs);
    try {
      connector.open();
    } catch (IOException e) {
      throw new IOException(
          "cannot listen on " + b.host + ":" + b.port + " (" + e.getMessage() + ")", e);
    }
    guard = Guard.of(b.host, connector.getLocalPort(), b.token);
    server.setHandler(
        new Router(
            guard,
            b.predictor,
            b.drawings.map(dir -> new Drawings(dir, b.maxPixels)),
            runs,
            events,
            new StaticFiles()));
    try {
      server.start();
    } catch (Exception e) {
      throw new IOException("cannot start the page's server: " + e.getMessage(), e);
    }
  }

  static Builder builder() {
    return new Builder();
  }

  /** The port it listens on (the one chosen, when 0 was asked for). */
  int port() {
    return connector.getLocalPort();
  }

  /** The page's address. */
  String url() {
    String h = host.contains(":") ? "[" + host + "]" : host;
    return "http://" + h + ":" + port() + "/";
  }

  /** The id of the run {@code follow} names, if any. */
  java.util.Optional<String> followedId() {
    return runs.followedId();
  }

  Guard guard() {
    return guard;
  }

  @Override
  public void close() {
    events.stop();
    try {
      server.stop();
    } catch (Exception e) {
      throw new IllegalStateException("cannot stop the page's server: " + e.getMessage(), e);
    }
  }

  /** What to serve, where. */
  static final class Builder {
    private String host = "127.0.0.1";
    private int port = 8080;
    private Optional<String> token = Optional.empty();
    private Optional<Predictor> predictor = Optional.empty();
    private Optional<Path> runs = Optional.empty();
    private Optional<Path> follow = Optional.empty();
    private Optional<Path> drawings = Optional.of(Path.of("drawings"));
    private long maxPixels = 25_000_000L;

    Builder host(String value) {
      host = value;
      return this;
    }

    Builder port(int value) {
      port = value;
      return this;
    }

    Builder token(String value) {
      token = Optional.of(value);
      return this;
    }

    Builder predictor(Predictor value) {
      predictor = Optional.of(value);
      return this;
    }

    Builder runs(Path value) {
      runs = Optional.of(value);
      return this;
    }

    Builder follow(Path value) {
      follow = Optional.of(value);
      return this;
    }

    Builder drawings(Path value) {
      drawings = Optional.of(value);
      return this;
    }

    /** Saves no drawings: {@code /api/drawings} answers 404. */
    Builder noDrawings() {
      drawings = Optional.empty();
      return this;
    }

    Builder maxPixels(long value) {
      maxPixels = value;
      return this;
    }

    PageServer start() throws IOException {
      return new PageServer(this);
    }
  }
}
