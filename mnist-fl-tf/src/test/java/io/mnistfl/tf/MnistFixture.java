package io.mnistfl.tf;

import io.mnistfl.data.StandardDataset;
import io.mnistfl.data.TrainTestData;
import java.io.IOException;
import java.io.UncheckedIOException;

/** Real MNIST for tests, fetched and verified once per JVM through the project's own fetcher. */
final class MnistFixture {
  private static TrainTestData data;

  private MnistFixture() {}

  static synchronized TrainTestData mnist() {
    if (data == null) {
      try {
        data = StandardDataset.MNIST.load();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return data;
  }
}
