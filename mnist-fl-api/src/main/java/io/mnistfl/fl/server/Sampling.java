package io.mnistfl.fl.server;

import io.mnistfl.internal.Require;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/** How a strategy picks the sites of a round from those available. */
public sealed interface Sampling {

  /**
   * The sampled sites, sorted, drawn with {@code random}.
   *
   * @param available the sites that can be reached
   * @param random draws the sample
   * @return the sampled site ids
   */
  List<String> sample(List<String> available, Random random);

  /**
   * Every available site.
   *
   * @return the sampling
   */
  static Sampling all() {
    return new All();
  }

  /**
   * A share {@code c} of the available sites, at least {@code min} (all, if fewer), drawn without
   * replacement.
   *
   * @param c the share, in (0, 1]
   * @param min the least number sampled, at least 1
   * @return the sampling
   */
  static Sampling fraction(double c, int min) {
    return new Fraction(c, min);
  }

  /**
   * Each site independently with probability {@code q}, so the number varies from round to round
   * and may be 0: the sampling the privacy accounting of DP-FedAvg assumes.
   *
   * @param q the probability, in (0, 1]
   * @return the sampling
   */
  static Sampling poisson(double q) {
    return new Poisson(q);
  }

  /** Every available site. */
  record All() implements Sampling {
    @Override
    public List<String> sample(List<String> available, Random random) {
      List<String> ids = new ArrayList<>(available);
      Collections.sort(ids);
      return ids;
    }

    @Override
    public String toString() {
      return "all";
    }
  }

  /**
   * max(min, round(c·N)) of the N available sites, all when there are fewer.
   *
   * @param c the share, in (0, 1]
   * @param min the least number sampled, {@code >= 1}
   */
  record Fraction(double c, int min) implements Sampling {
    /**
     * Checks the share and the minimum.
     *
     * @param c the share, in (0, 1]
     * @param min the least number sampled, at least 1
     */
    public Fraction {
      Require.inUnitInterval("fraction", c);
      Require.atLeastOne("minimum", min);
    }

    @Override
    public List<String> sample(List<String> available, Random random) {
      List<String> ids = new ArrayList<>(available);
      Collections.sort(ids);
      int k = Math.min(ids.size(), Math.max(min, (int) Math.round(c * ids.size())));
      Collections.shuffle(ids, random);
      List<String> chosen = new ArrayList<>(ids.subList(0, k));
      Collections.sort(chosen);
      return chosen;
    }

    @Override
    public String toString() {
      return "fraction " + c + ", at least " + min;
    }
  }

  /**
   * Each site with probability {@code q}.
   *
   * @param q the probability, in (0, 1]
   */
  record Poisson(double q) implements Sampling {
    /**
     * Checks the probability.
     *
     * @param q the probability, in (0, 1]
     */
    public Poisson {
      Require.inUnitInterval("q", q);
    }

    @Override
    public List<String> sample(List<String> available, Random random) {
      List<String> ids = new ArrayList<>(available);
      Collections.sort(ids);
      List<String> chosen = new ArrayList<>();
      for (String id : ids) {
        if (random.nextDouble() < q) {
          chosen.add(id);
        }
      }
      return chosen;
    }

    @Override
    public String toString() {
      return "poisson " + q;
    }
  }
}
