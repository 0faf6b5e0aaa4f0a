package io.mnistfl.fl.grpc;

import io.grpc.Status;
import java.util.List;

/**
 * The transport's events in the application's log, through {@link System.Logger} (which routes to
 * java.util.logging, SLF4J or Log4j as the application configures): joins and departures at INFO,
 * refusals at WARNING, one line each and no stack trace, since a hostile or flaky peer is an
 * expected event, not a bug. The operator's own listener is told too.
 */
final class LoggedEvents implements GrpcServer.Events {
  static final System.Logger SERVER = System.getLogger(GrpcServer.class.getName());
  static final System.Logger SITE = System.getLogger(GrpcSiteHost.class.getName());

  private final GrpcServer.Events to;

  LoggedEvents(GrpcServer.Events to) {
    this.to = to;
  }

  @Override
  public void joined(String who, List<String> sites) {
    SERVER.log(System.Logger.Level.INFO, "{0} joined as {1}", who, summary(sites));
    to.joined(who, sites);
  }

  @Override
  public void left(String who, String why) {
    SERVER.log(System.Logger.Level.INFO, "{0} left: {1}", who, why);
    to.left(who, why);
  }

  @Override
  public void refused(String who, String why) {
    SERVER.log(System.Logger.Level.WARNING, "refused {0}: {1}", who, why);
    to.refused(who, why);
  }

  /** A few site ids, or a count and the first and last of many. */
  static String summary(List<String> sites) {
    return sites.size() <= 4
        ? sites.toString()
        : sites.size() + " sites [" + sites.get(0) + " … " + sites.get(sites.size() - 1) + "]";
  }

  /**
   * A status in one line: its code, description and the cause's message. gRPC's own {@code
   * toString} appends the cause's whole stack trace.
   */
  static String describe(Status status) {
    StringBuilder line = new StringBuilder(status.getCode().name());
    if (status.getDescription() != null) {
      line.append(": ").append(status.getDescription());
    }
    Throwable cause = status.getCause();
    if (cause != null && cause.getMessage() != null) {
      line.append(" (").append(cause.getMessage()).append(')');
    }
    return line.toString();
  }
}
