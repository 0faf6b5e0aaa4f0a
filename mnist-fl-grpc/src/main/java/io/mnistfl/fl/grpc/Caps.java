package io.mnistfl.fl.grpc;

import java.time.Duration;

/**
 * What the server allows a peer, in one place so that the README can state it: every cap on
 * connections, calls, time and refusals. The values follow gRPC's own server limits, which are off
 * by default, set for a federation whose site hosts each hold one connection with one call.
 */
final class Caps {
  /** Concurrent calls (HTTP/2 streams) on one connection; more are refused by HTTP/2. */
  static final int CALLS_PER_CONNECTION = 4;

  /** Concurrent calls of one certificate name, over all its connections. */
  static final int CALLS_PER_CERTIFICATE = 4;

  /** Concurrent connections of one certificate name. */
  static final int CONNECTIONS_PER_CERTIFICATE = 4;

  /** How long a new stream may take to register before it is cut. */
  static final Duration REGISTRATION_DEADLINE = Duration.ofSeconds(10);

  /** How long a connection may carry no call before the server closes it. */
  static final Duration CONNECTION_IDLE = Duration.ofSeconds(30);

  /**
   * How long a connection lives (gRPC adds ±10 % jitter); then it is asked to go away, and its
   * calls are cut {@link #CONNECTION_AGE_GRACE} later, so that the certificate is checked afresh.
   */
  static final Duration CONNECTION_AGE = Duration.ofHours(24);

  /** How long a connection's calls may go on after it has been asked to go away for its age. */
  static final Duration CONNECTION_AGE_GRACE = Duration.ofMinutes(1);

  /**
   * The shortest interval between a peer's keepalive pings; a peer that pings more often, or at all
   * without a call, is sent away by gRPC's keepalive enforcement.
   */
  static final Duration PERMIT_KEEPALIVE = Duration.ofSeconds(20);

  /** RST_STREAM frames a connection may send in {@link #RST_WINDOW_SECONDS} (Netty's default). */
  static final int RST_FRAMES = 200;

  /** The window of {@link #RST_FRAMES}. */
  static final int RST_WINDOW_SECONDS = 30;

  /**
   * Messages refused on one connection (answers replayed, forged, or for no task) before its
   * streams and the connection are cut.
   */
  static final int REFUSALS_PER_CONNECTION = 100;

  /** Abandoned tasks a stream remembers, so that their late answers are dropped quietly. */
  static final int LATE_TASKS = 1024;

  /** Site ids one stream may register. */
  static final int SITES_PER_STREAM = 100_000;

  private Caps() {}
}
