package io.mnistfl.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import org.junit.jupiter.api.Test;

/** The two real data sets load, verified, through the same IDX reader. */
class StandardDatasetTest {

  @Test
  void mnistFetchesAndVerifies() throws IOException {
    TrainTestData mnist = StandardDataset.MNIST.load();
    assertThat(mnist.train().size()).isEqualTo(60_000);
    assertThat(mnist.test().size()).isEqualTo(10_000);
    assertThat(mnist.train().height()).isEqualTo(28);
    // The first training image of MNIST is a 5, the first test image a 7.
    assertThat(mnist.train().label(0)).isEqualTo(5);
    assertThat(mnist.test().label(0)).isEqualTo(7);
  }

  @Test
  void fashionMnistLoadsThroughTheSameReader() throws IOException {
    TrainTestData fashion = StandardDataset.FASHION_MNIST.load();
    assertThat(fashion.train().size()).isEqualTo(60_000);
    assertThat(fashion.test().size()).isEqualTo(10_000);
    // Fashion-MNIST's first training item is an ankle boot (9), its first test item too.
    assertThat(fashion.train().label(0)).isEqualTo(9);
    assertThat(fashion.test().label(0)).isEqualTo(9);
    int[] counts = new int[10];
    for (int label : fashion.test().labels()) {
      counts[label]++;
    }
    assertThat(counts).containsOnly(1000);
  }

  @Test
  void shipsChecksumsForAllFourFiles() {
    assertThat(StandardDataset.MNIST.checksums())
        .hasSize(4)
        .containsEntry(
            "train-images-idx3-ubyte",
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db");
    assertThat(StandardDataset.FASHION_MNIST.checksums()).hasSize(4);
  }
}
