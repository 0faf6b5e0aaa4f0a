package io.mnistfl.flowerprobe;

import io.mnistfl.fl.Client;
import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.flower.FlowerSuperNode;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import java.time.Duration;

/**
 * Run by ModulePathTest in a JVM of its own, with io.mnistfl.grpc and its dependencies on the
 * module path: activates one node at 127.0.0.1:PORT and prints its node id.
 */
public final class ModulePathProbe {
  private ModulePathProbe() {}

  /**
   * Activates, prints, closes.
   *
   * @param args the SuperLink's port
   * @throws Exception when anything fails
   */
  public static void main(String[] args) throws Exception {
    Client idle =
        new Client() {
          @Override
          public String id() {
            return "probe";
          }

          @Override
          public int numExamples() {
            return 1;
          }

          @Override
          public ClientUpdate fit(Weights global, RoundConfig config) {
            return new ClientUpdate("probe", global, 1, 0, 0);
          }

          @Override
          public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
            throw new UnsupportedOperationException();
          }
        };
    try (FlowerSuperNode node =
        FlowerSuperNode.builder("127.0.0.1", Integer.parseInt(args[0]))
            .insecure()
            .model(ModelSpec.baseline())
            .client(idle)
            .build()
            .start()) {
      if (!node.awaitActivated(Duration.ofSeconds(30))) {
        System.exit(3);
      }
      System.out.println(FlowerSuperNode.class.getModule() + " activated " + node.nodeIds());
    }
  }
}
