package io.mnistfl.tf;

import static org.assertj.core.api.Assertions.assertThat;

import io.mnistfl.data.DataSource;
import io.mnistfl.data.TrainTestData;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.train.EpochResult;
import io.mnistfl.train.LocalTraining;
import io.mnistfl.train.TrainingListener;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Proves learning on real MNIST: a few hundred steps of the baseline must beat 90 % on test. */
class TfModelLearningTest {

  @Test
  void baselineLearnsMnistInAFewHundredSteps() {
    TrainTestData mnist = MnistFixture.mnist();
    DataSource train = mnist.train().subset(IntStream.range(0, 9_600).toArray());
    try (TfModel model = TfModel.create(ModelSpec.baseline())) {
      Metrics before = model.evaluate(mnist.test());
      List<EpochResult> history =
          model.fit(
              train,
              train.subset(new int[0]),
              LocalTraining.of(model.spec()).withEpochs(1),
              TrainingListener.NONE);
      Metrics after = model.evaluate(mnist.test());

      assertThat(history).hasSize(1);
      assertThat(before.accuracy()).isLessThan(0.3);
      assertThat(after.accuracy()).isGreaterThan(0.90);
      assertThat(after.loss()).isLessThan(before.loss() / 3);
      assertThat(after.macro().f1()).isGreaterThan(0.89);
      assertThat(after.count()).isEqualTo(10_000);
    }
  }
}
