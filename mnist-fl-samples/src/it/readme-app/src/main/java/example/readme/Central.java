package example.readme;

import io.mnistfl.data.DigitImages;
import io.mnistfl.data.StandardDataset;
import io.mnistfl.data.TrainTestData;
import io.mnistfl.data.TrainValidationSplit;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.tf.TfModel;
import io.mnistfl.train.LocalTraining;
import io.mnistfl.train.Provenance;
import io.mnistfl.train.TrainingListener;
import io.mnistfl.train.TrainingRecord;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** Trains, evaluates, saves with provenance, and classifies a picture. */
public final class Central {
  /** Returns the test accuracy. */
  public static double run() throws IOException {
    TrainTestData mnist = StandardDataset.MNIST.load(); // fetched and verified once
    TrainValidationSplit split = TrainValidationSplit.of(mnist.train(), 6_000, 42);
    ModelSpec spec = ModelSpec.baseline(); // or regularized(), mcmahanCnn(), builder()
    try (TfModel model = TfModel.create(spec)) {
      LocalTraining training = LocalTraining.of(spec).withEpochs(1); // 15 epochs: 98.7 %
      model.fit(split.train(), split.validation(), training, TrainingListener.NONE);
      Metrics test = model.evaluate(mnist.test());
      System.out.println(test.summary());
      Provenance provenance = Provenance.builder(spec).setting("training.epochs", 1)
          .data(mnist.train().name(), split.train().size()).backend(TfModel.BACKEND).build();
      model.save(Path.of("runs", "readme", "model"),
          new TrainingRecord(provenance, List.of(), Optional.of(test), 0));
      int[] digit = model.classify(DigitImages.load(Path.of("my-digit.png")), 1);
      System.out.println("my-digit.png shows a " + digit[0]);
      return test.accuracy();
    }
  }
}
