package io.mnistfl.samples;

import io.mnistfl.train.EpochResult;
import io.mnistfl.train.TrainingListener;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Keras-like console output: a progress bar per epoch on a terminal (plain lines otherwise, since
 * the bar library writes carriage returns even into files), then the epoch's summary line.
 */
final class ConsoleProgress implements TrainingListener {
  private final boolean terminal = System.console() != null;
  private ProgressBar bar;

  @Override
  public void epochStarted(int epoch, int epochs, int steps) {
    if (terminal) {
      bar =
          new ProgressBarBuilder()
              .setTaskName("epoch " + epoch + "/" + epochs)
              .setInitialMax(steps)
              .setStyle(ProgressBarStyle.ASCII)
              .setUpdateIntervalMillis(250)
              .continuousUpdate()
              .build();
    }
  }

  @Override
  public void stepFinished(int step, int steps, double meanLoss, double meanAccuracy) {
    if (bar != null) {
      bar.stepTo(step);
      bar.setExtraMessage(String.format("loss %.4f acc %.4f", meanLoss, meanAccuracy));
    }
  }

  @Override
  public void epochFinished(EpochResult result) {
    if (bar != null) {
      bar.close();
      bar = null;
    }
    System.out.println(result.format());
  }
}
