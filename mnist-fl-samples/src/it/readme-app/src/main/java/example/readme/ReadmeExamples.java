package example.readme;

import io.mnistfl.data.DataSource;
import io.mnistfl.data.DigitImages;
import io.mnistfl.data.ImageFolder;
import io.mnistfl.data.StandardDataset;
import io.mnistfl.data.TrainTestData;
import io.mnistfl.data.TrainValidationSplit;
import io.mnistfl.fl.site.ClientRuntime;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.server.Federation;
import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.server.Sampling;
import io.mnistfl.fl.server.StandardStrategy;
import io.mnistfl.fl.Transport;
import io.mnistfl.fl.aggregate.Aggregator;
import io.mnistfl.fl.aggregate.WeightMath;
import io.mnistfl.fl.checkpoint.CheckpointStore;
import io.mnistfl.fl.secagg.SecAggConfig;
import io.mnistfl.fl.secagg.SecAggSite;
import io.mnistfl.fl.secagg.SecureAggregation;
import io.mnistfl.fl.secagg.SimulatedIdentities;
import io.mnistfl.fl.sim.InProcessTransport;
import io.mnistfl.fl.sim.Partitioning;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import io.mnistfl.tf.TfClient;
import io.mnistfl.tf.TfModel;
import io.mnistfl.train.LocalTraining;
import io.mnistfl.train.Provenance;
import io.mnistfl.train.TrainingListener;
import io.mnistfl.train.TrainingRecord;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every Java snippet of the README, each between a {@code region} and an {@code endregion} line;
 * a test of the library checks that the README quotes them to the character.
 */
public final class ReadmeExamples {
  private ReadmeExamples() {}

  /** Trains, evaluates, saves and classifies a picture; returns the test accuracy. */
  public static double central() throws IOException {
    // region: central
    TrainTestData mnist = StandardDataset.MNIST.load(); // fetched and verified once
    TrainValidationSplit split = TrainValidationSplit.of(mnist.train(), 6_000, 42);
    ModelSpec spec = ModelSpec.baseline(); // or regularized(), mcmahanCnn(), builder()
    try (TfModel model = TfModel.create(spec)) {
      LocalTraining training = LocalTraining.of(spec).withEpochs(1); // 15 epochs: 98.7 %
      model.fit(split.train(), split.validation(), training, TrainingListener.NONE);
      Metrics test = model.evaluate(mnist.test());
      System.out.println(test.summary());
      Provenance provenance = Provenance.builder(spec).setting("training.epochs", 1)
          .data(mnist.train().name(), split.train().size()).backend(TfModel.BACKEND).build();
      model.save(Path.of("runs", "readme", "model"),
          new TrainingRecord(provenance, List.of(), Optional.of(test), 0));
      int[] digit = model.classify(DigitImages.load(Path.of("my-digit.png")), 1);
      System.out.println("my-digit.png shows a " + digit[0]);
      // endregion
      return test.accuracy();
    }
  }

  /** Simulates three sites for two rounds; returns the history. */
  public static FederationHistory federatedSimulation() throws IOException {
    // region: federated
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
      // endregion
      return history;
    }
  }

  /** Three simulated sites whose updates the server sees only summed; returns the history. */
  public static FederationHistory secureSimulation() throws IOException {
    // region: secure
    TrainTestData mnist = StandardDataset.MNIST.load();
    ModelSpec spec = ModelSpec.baseline();
    List<int[]> parts = new Partitioning.Iid().split(mnist.train().labels(), 10, 3, 42);
    SimulatedIdentities ids = new SimulatedIdentities(); // over gRPC: CertificateIdentities
    try (TfModel shared = TfModel.create(spec);
        Transport sites = InProcessTransport.ofRuntimes(
            TfClient.simulate(shared, mnist.train(), parts, 0).stream()
                .map(site -> ClientRuntime.of(site)
                    .withStages(SecAggSite.of(ids.of(site.id()), ids.verifier())))
                .toList())) {
      FederationHistory history = Federation.builder(spec, sites)
          .fitProtocol(SecureAggregation.of(SecAggConfig.defaults(), ids.verifier()))
          .rounds(1)
          .build()
          .run();
      System.out.println(history.rounds().get(0).format()); // 3/3 sites, summed under masks
      // endregion
      return history;
    }
  }

  // region: transport
  /** Carries the bytes of each exchange to a site and back, e.g. over a message queue. */
  public static final class MyTransport implements Transport {
    private final Map<String, ClientRuntime> sites; // stands in for your remote endpoints

    /** On each site, {@code ClientRuntime.of(client).handle(bytes)} answers a request. */
    public MyTransport(Map<String, ClientRuntime> sites) {
      this.sites = Map.copyOf(sites);
    }

    @Override
    public List<String> siteIds() {
      return List.copyOf(sites.keySet());
    }

    @Override
    public byte[] exchange(String siteId, byte[] request) throws IOException {
      ClientRuntime site = sites.get(siteId);
      if (site == null) {
        throw new IOException("no site " + siteId);
      }
      return site.handle(request); // in your app: send, then wait for the site's answer
    }
  }
  // endregion

  // region: aggregator
  /** FedAvg that ignores the sites' example counts: every update weighs the same. */
  public static final class EqualWeights implements Aggregator {
    @Override
    public Weights aggregate(Weights global, List<ClientUpdate> updates) {
      return WeightMath.withValues(global, WeightMath.trimmedMean(global, updates, 0));
    }

    @Override
    public String toString() {
      return "EqualWeights";
    }
  }
  // endregion

  // region: data-source
  /** Your own labelled images, e.g. rows of a database: six methods, pixels in [0, 1]. */
  public static final class MyImages implements DataSource {
    private final float[][] pixels; // each 28 × 28, row-major
    private final int[] labels;

    /** Images and their labels, in the same order. */
    public MyImages(float[][] pixels, int[] labels) {
      this.pixels = pixels;
      this.labels = labels;
    }

    @Override
    public int size() {
      return labels.length;
    }

    @Override
    public int height() {
      return 28;
    }

    @Override
    public int width() {
      return 28;
    }

    @Override
    public int numClasses() {
      return 10;
    }

    @Override
    public int label(int index) {
      return labels[index];
    }

    @Override
    public void copyImage(int index, float[] dst, int offset) {
      System.arraycopy(pixels[index], 0, dst, offset, 28 * 28);
    }
  }
  // endregion

  /** Scores the saved model on a folder of labelled pictures; returns its accuracy. */
  public static double ownPictures() throws IOException {
    // region: pictures
    ImageFolder.Loaded pictures = ImageFolder.load(Path.of("my-digits"), 10); // 0/ ... 9/
    pictures.skipped().forEach(System.err::println); // unreadable files, named; not fatal
    try (TfModel model = TfModel.load(Path.of("runs", "readme", "model"))) {
      Metrics mine = model.evaluate(pictures.images());
      System.out.println(mine.summary());
      // endregion
      return mine.accuracy();
    }
  }
}
