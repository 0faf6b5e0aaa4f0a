package io.mnistfl.samples.serve;

import java.io.IOException;
import java.nio.file.Path;

/**
 * {@code federate --dashboard PORT}: the page, on loopback only, following the run that the same
 * process writes; it stops when the federation ends. The run folder may not exist yet.
 */
public final class Dashboard implements AutoCloseable {
  private final PageServer server;

  private Dashboard(PageServer server) {
    this.server = server;
  }

  /**
   * Starts the page on {@code 127.0.0.1:port}, following {@code run} (nothing to draw, no other
   * runs, no drawings saved).
   *
   * @param port the port, 1 to 65535 (0 picks a free one)
   * @param run the federation's {@code --out} folder
   * @return the running page
   * @throws IOException when the port cannot be opened
   */
  public static Dashboard start(int port, Path run) throws IOException {
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("--dashboard must be a port in 0..65535, was " + port);
    }
    // Jetty logs through SLF4J; its start-up lines are not the user's business.
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    return new Dashboard(
        PageServer.builder().host("127.0.0.1").port(port).follow(run).noDrawings().start());
  }

  /**
   * The address of the run's page.
   *
   * @return e.g. {@code http://127.0.0.1:8080/runs/federated-regularized}
   */
  public String url() {
    return server.url() + "runs/" + run();
  }

  private String run() {
    return server.followedId().orElseThrow();
  }

  /** Stops the page. */
  @Override
  public void close() {
    server.close();
  }
}
