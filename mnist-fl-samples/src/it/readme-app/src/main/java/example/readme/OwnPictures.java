package example.readme;

import io.mnistfl.data.ImageFolder;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.tf.TfModel;
import java.io.IOException;
import java.nio.file.Path;

/** Scores the saved model on a folder of labelled pictures of any size and format. */
public final class OwnPictures {
  /** Returns the accuracy. */
  public static double run() throws IOException {
    ImageFolder.Loaded pictures = ImageFolder.load(Path.of("my-digits"), 10); // 0/ ... 9/
    pictures.skipped().forEach(System.err::println); // unreadable files, named; not fatal
    try (TfModel model = TfModel.load(Path.of("runs", "readme", "model"))) {
      Metrics mine = model.evaluate(pictures.images());
      System.out.println(mine.summary());
      return mine.accuracy();
    }
  }
}
