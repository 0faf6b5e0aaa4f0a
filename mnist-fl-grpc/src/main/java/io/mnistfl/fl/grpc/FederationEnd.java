package io.mnistfl.fl.grpc;

import java.util.Objects;

/**
 * Why the server ended a site host's stream on purpose, as its last message said: the federation
 * {@link Reason#FINISHED finished}, the server {@link Reason#STOPPED stopped} (it may come back and
 * resume, so the host dials again), or it {@link Reason#REFUSED refused} the host's sites.
 *
 * @param reason which of the three
 * @param detail the server's words, at most {@value #MAX_DETAIL} characters
 */
public record FederationEnd(Reason reason, String detail) {
  /** The most characters of the server's words kept. */
  public static final int MAX_DETAIL = 300;

  /** Why a stream ended. */
  public enum Reason {
    /** The last round is done: the site's work is over. */
    FINISHED,
    /** The server stopped, and may resume: the host dials again. */
    STOPPED,
    /** The server refused the host's sites (identity, protocol version, a malformed message). */
    REFUSED
  }

  /**
   * Checks presence and shortens a long detail.
   *
   * @param reason which of the three
   * @param detail the server's words
   */
  public FederationEnd {
    Objects.requireNonNull(reason, "reason");
    detail = detail.length() > MAX_DETAIL ? detail.substring(0, MAX_DETAIL) + "…" : detail;
  }

  /**
   * Whether the federation is over for this host: it finished, or the server refused it.
   *
   * @return whether the host stops dialling
   */
  public boolean isFinal() {
    return reason != Reason.STOPPED;
  }
}
