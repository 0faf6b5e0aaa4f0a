package io.mnistfl.fl.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PartitioningTest {
  /** 6,000 labels, 600 of each class, in a scrambled order. */
  private static final int[] LABELS = IntStream.range(0, 6000).map(i -> (i * 7) % 10).toArray();

  private static void assertEveryExampleExactlyOnce(List<int[]> parts) {
    int[] all = parts.stream().flatMapToInt(Arrays::stream).sorted().toArray();
    assertThat(all).containsExactly(IntStream.range(0, LABELS.length).toArray());
  }

  private static long classesOf(int[] part) {
    return Arrays.stream(part).map(i -> LABELS[i]).distinct().count();
  }

  @Test
  void iidCoversEverythingInEqualShares() {
    List<int[]> parts = new Partitioning.Iid().split(LABELS, 10, 7, 1);
    assertEveryExampleExactlyOnce(parts);
    assertThat(parts).allMatch(p -> p.length == 857 || p.length == 858);
    assertThat(parts).allMatch(p -> classesOf(p) == 10);
  }

  @Test
  void shardsGiveEachClientAtMostTwoClasses() {
    List<int[]> parts = new Partitioning.Shards(2).split(LABELS, 10, 20, 1);
    assertEveryExampleExactlyOnce(parts);
    // 40 shards of 150; a class spans 4 shards, so a shard holds one class.
    assertThat(parts).allMatch(p -> p.length == 300);
    assertThat(parts).allMatch(p -> classesOf(p) <= 2);
    assertThat(parts.stream().mapToLong(PartitioningTest::classesOf).average().orElseThrow())
        .isGreaterThan(1.5);
  }

  @Test
  void dirichletSkewsLabelsMoreForSmallerAlpha() {
    List<int[]> skewed = new Partitioning.Dirichlet(0.1).split(LABELS, 10, 10, 3);
    List<int[]> mild = new Partitioning.Dirichlet(100).split(LABELS, 10, 10, 3);
    assertEveryExampleExactlyOnce(skewed);
    assertEveryExampleExactlyOnce(mild);
    assertThat(skewed).allMatch(p -> p.length > 0);
    assertThat(dominantShare(skewed)).isGreaterThan(0.6);
    assertThat(dominantShare(mild)).isLessThan(0.2);
  }

  /** Mean over clients of the share of their most common label. */
  private static double dominantShare(List<int[]> parts) {
    return parts.stream()
        .mapToDouble(
            p -> {
              int[] counts = new int[10];
              Arrays.stream(p).forEach(i -> counts[LABELS[i]]++);
              return (double) Arrays.stream(counts).max().orElseThrow() / p.length;
            })
        .average()
        .orElseThrow();
  }

  @Test
  void splitsAreSeeded() {
    Partitioning d = new Partitioning.Dirichlet(0.5);
    assertThat(d.split(LABELS, 10, 5, 9).get(2)).containsExactly(d.split(LABELS, 10, 5, 9).get(2));
    assertThat(d.split(LABELS, 10, 5, 9).get(2)).isNotEqualTo(d.split(LABELS, 10, 5, 10).get(2));
  }

  @Test
  void parsesCliNames() {
    assertThat(Partitioning.parse("dirichlet:0.3")).isEqualTo(new Partitioning.Dirichlet(0.3));
    assertThat(Partitioning.parse("shards")).isEqualTo(new Partitioning.Shards(2));
    assertThatThrownBy(() -> Partitioning.parse("zipf"))
        .hasMessageContaining("unknown partition 'zipf'");
    assertThatThrownBy(() -> new Partitioning.Iid().split(LABELS, 10, 6001, 1))
        .hasMessageContaining("cannot split 6000 examples into 6001 parts");
  }
}
