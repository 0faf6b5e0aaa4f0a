package io.mnistfl.samples;

import io.mnistfl.data.DataSource;
import io.mnistfl.fl.sim.Partitioning;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code --clients}, {@code --partition}: how the training set is split among clients. */
final class PartitionOptions {
  @Option(
      names = "--clients",
      paramLabel = "N",
      defaultValue = "10",
      description = "Clients the training set is split among (default: ${DEFAULT-VALUE}).")
  int clients;

  @Option(
      names = "--partition",
      defaultValue = "iid",
      description =
          "iid, shards[:K] (McMahan's pathological non-IID) or dirichlet[:ALPHA]"
              + " (default: ${DEFAULT-VALUE}).")
  String partition;

  /** Checks the partition's name before any data is loaded. */
  Partitioning partitioning() {
    return Partitioning.parse(partition);
  }

  /** Each client's example indices; the same seed gives the same parts in every process. */
  List<int[]> split(DataSource train, long seed) {
    return partitioning().split(train.labels(), train.numClasses(), clients, seed);
  }

  @Override
  public String toString() {
    return clients + " clients (" + partition + ")";
  }
}
