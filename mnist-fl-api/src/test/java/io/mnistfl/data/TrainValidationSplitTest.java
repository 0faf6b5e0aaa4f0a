package io.mnistfl.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TrainValidationSplitTest {

  private static ImageDataset data(int n) throws IOException {
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      labels[i] = i % 10;
    }
    return ImageDataset.of(
        "d",
        Idx.readImages("i", new ByteArrayInputStream(IdxFiles.images(n, 1, 1))),
        Idx.readLabels("l", new ByteArrayInputStream(IdxFiles.labels(labels)), 10),
        10);
  }

  @Test
  void splitIsDisjointCompleteAndSeeded() throws IOException {
    ImageDataset d = data(100);
    TrainValidationSplit a = TrainValidationSplit.of(d, 20, 7);
    TrainValidationSplit b = TrainValidationSplit.of(d, 20, 7);
    TrainValidationSplit c = TrainValidationSplit.of(d, 20, 8);
    assertThat(a.train().size()).isEqualTo(80);
    assertThat(a.validation().size()).isEqualTo(20);
    Set<String> seen = new HashSet<>();
    float[] px = new float[1];
    for (DataSource part : new DataSource[] {a.train(), a.validation()}) {
      for (int i = 0; i < part.size(); i++) {
        part.copyImage(i, px, 0);
        seen.add(px[0] + ":" + part.label(i));
      }
    }
    assertThat(seen).hasSize(100);
    assertThat(a.validation().labels()).containsExactly(b.validation().labels());
    assertThat(a.validation().labels()).isNotEqualTo(c.validation().labels());
  }

  @Test
  void rejectsImpossibleValidationSize() throws IOException {
    assertThatThrownBy(() -> TrainValidationSplit.of(data(10), 10, 1))
        .hasMessageContaining("validation size 10 must be in [0, 10) for d");
  }

  @Test
  void subsetOfSubsetComposesIndices() throws IOException {
    ImageDataset d = data(30);
    DataSource view = d.subset(new int[] {29, 3, 11}).subset(new int[] {2, 0});
    assertThat(view.labels()).containsExactly(1, 9);
    assertThatThrownBy(() -> d.subset(new int[] {30}))
        .hasMessageContaining("index 30 at position 0 is outside d (size 30)");
  }
}
