package io.mnistfl.samples;

import io.mnistfl.data.DownloadListener;
import java.io.PrintStream;
import java.net.URI;
import java.util.OptionalLong;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A data set's downloads on the console: a progress bar per file on a terminal, one line per file
 * otherwise (the bar library writes carriage returns even into files).
 */
final class DownloadProgress implements DownloadListener {
  private final boolean terminal;
  private final PrintStream out;
  private ProgressBar bar;

  DownloadProgress() {
    this(System.console() != null, System.out);
  }

  DownloadProgress(boolean terminal, PrintStream out) {
    this.terminal = terminal;
    this.out = out;
  }

  @Override
  public synchronized void started(URI url, OptionalLong totalBytes) {
    if (terminal) {
      boolean small = totalBytes.orElse(Long.MAX_VALUE) < 1 << 20;
      bar =
          new ProgressBarBuilder()
              .setTaskName(fileName(url))
              .setInitialMax(totalBytes.orElse(-1))
              .setUnit(small ? " KiB" : " MiB", small ? 1 << 10 : 1 << 20)
              .setStyle(ProgressBarStyle.ASCII)
              .setUpdateIntervalMillis(250)
              .showSpeed()
              .continuousUpdate()
              .build();
    } else {
      out.println(
          "data: fetching "
              + url
              + (totalBytes.isPresent() ? " (" + totalBytes.getAsLong() + " bytes)" : ""));
    }
  }

  @Override
  public synchronized void progress(URI url, long bytesSoFar, OptionalLong totalBytes) {
    if (bar != null) {
      bar.stepTo(bytesSoFar);
    }
  }

  @Override
  public synchronized void verified(URI url, long bytes) {
    closeBar();
    out.println("data: " + fileName(url) + " verified (" + bytes + " bytes from " + url + ")");
  }

  @Override
  public synchronized void failed(URI url, String reason) {
    closeBar();
    out.println("data: " + url + " refused or unreachable: " + reason);
  }

  @Override
  public synchronized void fallback(String command) {
    out.println("data: no mirror served the files; trying " + command);
  }

  private void closeBar() {
    if (bar != null) {
      bar.close();
      bar = null;
    }
  }

  private static String fileName(URI url) {
    String path = url.getPath();
    return path.substring(path.lastIndexOf('/') + 1);
  }
}
