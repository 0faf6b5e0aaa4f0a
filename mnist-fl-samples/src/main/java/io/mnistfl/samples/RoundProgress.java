package io.mnistfl.samples;

import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.fl.server.FederationListener;
import java.io.IOException;
import java.io.UncheckedIOException;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar over the round's clients on a terminal, then the round's line; the model and
 * history files after every round.
 */
final class RoundProgress implements FederationListener {
  /** Saves what other tools read of the federation so far. */
  interface FilesWriter {
    void save(FederationHistory soFar) throws IOException;
  }

  private final boolean terminal = System.console() != null;
  FilesWriter files = soFar -> {};
  private ProgressBar bar;

  @Override
  public void checkpoint(FederationHistory soFar) {
    try {
      files.save(soFar);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot save the model: " + e.getMessage(), e);
    }
  }

  @Override
  public void warning(String message) {
    System.err.println("warning: " + message);
  }

  @Override
  public void roundStarted(int round, int sampled) {
    if (terminal) {
      bar =
          new ProgressBarBuilder()
              .setTaskName("round " + round)
              .setInitialMax(sampled)
              .setStyle(ProgressBarStyle.ASCII)
              .continuousUpdate()
              .build();
    }
  }

  @Override
  public void siteAnswered(int round, String stage, int done, int total) {
    if (bar != null) {
      bar.setExtraMessage(stage);
      bar.stepTo(done);
    }
  }

  @Override
  public void roundFinished(RoundResult result) {
    if (bar != null) {
      bar.close();
      bar = null;
    }
    System.out.println(result.format());
  }
}
