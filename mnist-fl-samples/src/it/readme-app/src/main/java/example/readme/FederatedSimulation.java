package example.readme;

import io.mnistfl.data.StandardDataset;
import io.mnistfl.data.TrainTestData;
import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.Transport;
import io.mnistfl.fl.checkpoint.CheckpointStore;
import io.mnistfl.fl.server.Federation;
import io.mnistfl.fl.server.Sampling;
import io.mnistfl.fl.server.StandardStrategy;
import io.mnistfl.fl.sim.InProcessTransport;
import io.mnistfl.fl.sim.Partitioning;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.tf.TfClient;
import io.mnistfl.tf.TfModel;
import io.mnistfl.train.LocalTraining;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** Three simulated sites on parts of MNIST, two rounds, a checkpoint after each. */
public final class FederatedSimulation {
  /** Returns the record of every round. */
  public static FederationHistory run() throws IOException {
    TrainTestData mnist = StandardDataset.MNIST.load();
    ModelSpec spec = ModelSpec.baseline();
    List<int[]> parts = new Partitioning.Iid().split(mnist.train().labels(), 10, 3, 42);
    try (TfModel shared = TfModel.create(spec); // the simulated sites take turns on it
        TfModel server = TfModel.create(spec); // the server's own, for its test set
        Transport sites = new InProcessTransport(
            TfClient.simulate(shared, mnist.train(), parts, 0.1))) { // 10 % held out
      StandardStrategy strategy = StandardStrategy.builder()
          .sampling(Sampling.fraction(1.0, 3))
          .localTraining(LocalTraining.of(spec).withEpochs(1))
          .federatedEvaluation(true) // each site also scores the new weights on its own data
          .build();
      FederationHistory history = Federation.builder(spec, sites)
          .strategy(strategy)
          .evaluator(weights -> {
            server.setWeights(weights);
            return server.evaluate(mnist.test());
          })
          .rounds(2)
          .checkpoints(new CheckpointStore(Path.of("runs", "readme", "checkpoints"), 3))
          .build()
          .run();
      history.rounds().forEach(round -> System.out.println(round.format()));
      return history;
    }
  }
}
