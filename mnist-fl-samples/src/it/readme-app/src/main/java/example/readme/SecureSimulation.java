package example.readme;

import io.mnistfl.data.StandardDataset;
import io.mnistfl.data.TrainTestData;
import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.Transport;
import io.mnistfl.fl.secagg.SecAggConfig;
import io.mnistfl.fl.secagg.SecureAggregation;
import io.mnistfl.fl.secagg.SimulatedIdentities;
import io.mnistfl.fl.server.Federation;
import io.mnistfl.fl.sim.InProcessTransport;
import io.mnistfl.fl.sim.Partitioning;
import io.mnistfl.fl.site.ClientRuntime;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.tf.TfClient;
import io.mnistfl.tf.TfModel;
import java.io.IOException;
import java.util.List;

/** Three simulated sites whose updates the server sees only summed. */
public final class SecureSimulation {
  /** Returns the record of the round. */
  public static FederationHistory run() throws IOException {
    TrainTestData mnist = StandardDataset.MNIST.load();
    ModelSpec spec = ModelSpec.baseline();
    List<int[]> parts = new Partitioning.Iid().split(mnist.train().labels(), 10, 3, 42);
    SimulatedIdentities ids = new SimulatedIdentities(); // over gRPC: CertificateIdentities
    try (TfModel shared = TfModel.create(spec);
        Transport sites = InProcessTransport.ofRuntimes(
            TfClient.simulate(shared, mnist.train(), parts, 0).stream()
                .map(site -> ids.secure(ClientRuntime.of(site))) // answers its stages
                .toList())) {
      FederationHistory history = Federation.builder(spec, sites)
          .fitProtocol(SecureAggregation.of(SecAggConfig.defaults(), ids.verifier()))
          .rounds(1)
          .build()
          .run();
      System.out.println(history.rounds().get(0).format()); // 3/3 sites, summed under masks
      return history;
    }
  }
}
