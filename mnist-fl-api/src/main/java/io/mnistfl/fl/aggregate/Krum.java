package io.mnistfl.fl.aggregate;

import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.internal.Require;
import io.mnistfl.model.Weights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Krum and Multi-Krum (Blanchard et al. 2017). Each update is scored by the summed squared distance
 * to its n − f − 2 nearest other updates, f being the number of bad clients to withstand; the
 * {@code selected} updates with the lowest scores are averaged with equal weight ({@code selected =
 * 1} is Krum: the single most central update becomes the global weights). With fewer updates than
 * 2f + 3 the neighbourhood shrinks to what there is (at least one), so a round with dropouts still
 * aggregates, with a weaker guarantee.
 */
public final class Krum implements Aggregator {
  private final int byzantine;
  private final int selected;

  /**
   * @param byzantine f, how many bad updates to withstand, ≥ 0
   * @param selected how many of the best-scored updates to average, ≥ 1 (1 for plain Krum)
   */
  public Krum(int byzantine, int selected) {
    if (byzantine < 0) {
      throw new IllegalArgumentException("byzantine must be >= 0, was " + byzantine);
    }
    Require.atLeastOne("selected", selected);
    this.byzantine = byzantine;
    this.selected = selected;
  }

  @Override
  public Weights aggregate(Weights global, List<ClientUpdate> updates) {
    int n = updates.size();
    double[][] distance = new double[n][n];
    for (int i = 0; i < n; i++) {
      for (int j = i + 1; j < n; j++) {
        double d = WeightMath.squaredDistance(updates.get(i).weights(), updates.get(j).weights());
        distance[i][j] = d;
        distance[j][i] = d;
      }
    }
    int neighbours = Math.max(1, Math.min(n - 1, n - byzantine - 2));
    double[] score = new double[n];
    for (int i = 0; i < n; i++) {
      double[] others = new double[n - 1];
      for (int j = 0, k = 0; j < n; j++) {
        if (j != i) {
          others[k++] = distance[i][j];
        }
      }
      Arrays.sort(others);
      for (int k = 0; k < Math.min(neighbours, others.length); k++) {
        score[i] += others[k];
      }
    }
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      order.add(i);
    }
    order.sort(Comparator.comparingDouble(i -> score[i]));
    List<ClientUpdate> best = new ArrayList<>();
    for (int i : order.subList(0, Math.min(selected, n))) {
      best.add(updates.get(i));
    }
    return WeightMath.withValues(global, WeightMath.trimmedMean(global, best, 0));
  }

  @Override
  public String toString() {
    return "Krum(byzantine=" + byzantine + ", selected=" + selected + ")";
  }
}
