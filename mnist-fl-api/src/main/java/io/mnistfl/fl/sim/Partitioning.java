package io.mnistfl.fl.sim;

import io.mnistfl.data.Shuffle;
import io.mnistfl.internal.Require;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * How a data set is split among clients, as index lists into it (views, no copies). Every example
 * goes to exactly one client.
 */
public sealed interface Partitioning {

  /**
   * Index lists, one per client, over examples with these labels.
   *
   * @param labels every example's label
   * @param numClasses the number of classes
   * @param clients the number of clients
   * @param seed seeds the split
   * @return one index list per client
   * @throws IllegalArgumentException when the examples cannot be split into that many parts
   */
  List<int[]> split(int[] labels, int numClasses, int clients, long seed);

  /** Uniformly random equal shares. */
  record Iid() implements Partitioning {
    @Override
    public List<int[]> split(int[] labels, int numClasses, int clients, long seed) {
      checkClients(labels, clients);
      int[] order = Shuffle.permutation(labels.length, new Random(seed));
      List<int[]> parts = new ArrayList<>(clients);
      for (int c = 0; c < clients; c++) {
        int from = (int) ((long) labels.length * c / clients);
        int to = (int) ((long) labels.length * (c + 1) / clients);
        parts.add(Arrays.copyOfRange(order, from, to));
      }
      return parts;
    }
  }

  /**
   * McMahan's pathological non-IID split: sort by label, cut into {@code clients × shardsPerClient}
   * equal shards, give each client {@code shardsPerClient} random shards (100 clients × 2 shards of
   * 300 for MNIST's 60,000).
   *
   * @param shardsPerClient how many shards each client gets, at least 1
   */
  record Shards(int shardsPerClient) implements Partitioning {
    /**
     * Checks the number of shards.
     *
     * @param shardsPerClient how many shards each client gets, at least 1
     */
    public Shards {
      Require.atLeastOne("shardsPerClient", shardsPerClient);
    }

    @Override
    public List<int[]> split(int[] labels, int numClasses, int clients, long seed) {
      int shards = clients * shardsPerClient;
      checkClients(labels, shards);
      Random random = new Random(seed);
      // Sort by label; ties in a seeded random order.
      Integer[] byLabel = new Integer[labels.length];
      int[] tie = Shuffle.permutation(labels.length, random);
      for (int i = 0; i < byLabel.length; i++) {
        byLabel[i] = tie[i];
      }
      Arrays.sort(byLabel, (a, b) -> Integer.compare(labels[a], labels[b]));
      int[] shardOrder = Shuffle.permutation(shards, random);
      List<int[]> parts = new ArrayList<>(clients);
      for (int c = 0; c < clients; c++) {
        List<Integer> mine = new ArrayList<>();
        for (int s = 0; s < shardsPerClient; s++) {
          int shard = shardOrder[c * shardsPerClient + s];
          int from = (int) ((long) labels.length * shard / shards);
          int to = (int) ((long) labels.length * (shard + 1) / shards);
          for (int i = from; i < to; i++) {
            mine.add(byLabel[i]);
          }
        }
        parts.add(mine.stream().mapToInt(Integer::intValue).toArray());
      }
      return parts;
    }
  }

  /**
   * Label skew by a Dirichlet(α) draw per class over the clients (Hsu et al. 2019); small α means
   * few classes per client. Redrawn (up to 100 times) until every client has an example.
   *
   * @param alpha the concentration α, {@code > 0}
   */
  record Dirichlet(double alpha) implements Partitioning {
    /**
     * Checks the concentration.
     *
     * @param alpha the concentration α, {@code > 0}
     */
    public Dirichlet {
      Require.positive("alpha", alpha);
    }

    @Override
    public List<int[]> split(int[] labels, int numClasses, int clients, long seed) {
      checkClients(labels, clients);
      Random random = new Random(seed);
      for (int attempt = 0; attempt < 100; attempt++) {
        List<List<Integer>> parts = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
          parts.add(new ArrayList<>());
        }
        for (int k = 0; k < numClasses; k++) {
          List<Integer> members = new ArrayList<>();
          for (int i = 0; i < labels.length; i++) {
            if (labels[i] == k) {
              members.add(i);
            }
          }
          java.util.Collections.shuffle(members, random);
          double[] p = new double[clients];
          double sum = 0;
          for (int c = 0; c < clients; c++) {
            p[c] = gamma(alpha, random);
            sum += p[c];
          }
          int from = 0;
          double cumulative = 0;
          for (int c = 0; c < clients; c++) {
            cumulative += p[c] / sum;
            int to =
                c == clients - 1 ? members.size() : (int) Math.round(cumulative * members.size());
            parts.get(c).addAll(members.subList(from, Math.max(from, to)));
            from = Math.max(from, to);
          }
        }
        if (parts.stream().noneMatch(List::isEmpty)) {
          List<int[]> out = new ArrayList<>();
          for (List<Integer> part : parts) {
            out.add(part.stream().mapToInt(Integer::intValue).toArray());
          }
          return out;
        }
      }
      throw new IllegalArgumentException(
          "Dirichlet("
              + alpha
              + ") left a client empty in 100"
              + " draws: use fewer clients or a larger alpha");
    }

    /** Marsaglia–Tsang, with the α < 1 boost. */
    private static double gamma(double shape, Random random) {
      if (shape < 1) {
        return gamma(shape + 1, random) * Math.pow(random.nextDouble(), 1 / shape);
      }
      double d = shape - 1.0 / 3;
      double c = 1 / Math.sqrt(9 * d);
      while (true) {
        double x = random.nextGaussian();
        double v = Math.pow(1 + c * x, 3);
        if (v > 0 && Math.log(random.nextDouble()) < 0.5 * x * x + d - d * v + d * Math.log(v)) {
          return d * v;
        }
      }
    }
  }

  /**
   * Parses {@code iid}, {@code shards}, {@code shards:K} or {@code dirichlet:ALPHA}.
   *
   * @param text the partitioning's name, with any parameter after a colon
   * @return the partitioning
   * @throws IllegalArgumentException when the name is unknown or the parameter malformed
   */
  public static Partitioning parse(String text) {
    String[] parts = text.split(":", 2);
    try {
      return switch (parts[0]) {
        case "iid" -> new Iid();
        case "shards" -> new Shards(parts.length > 1 ? Integer.parseInt(parts[1]) : 2);
        case "dirichlet" -> new Dirichlet(parts.length > 1 ? Double.parseDouble(parts[1]) : 0.5);
        default ->
            throw new IllegalArgumentException(
                "unknown partition '" + text + "', expected iid, shards[:K] or dirichlet[:ALPHA]");
      };
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("partition '" + text + "': not a number after ':'");
    }
  }

  private static void checkClients(int[] labels, int parts) {
    if (parts < 1 || parts > labels.length) {
      throw new IllegalArgumentException(
          "cannot split " + labels.length + " examples into " + parts + " parts");
    }
  }
}
