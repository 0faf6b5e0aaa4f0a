package example.readme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.server.Federation;
import io.mnistfl.fl.server.StandardStrategy;
import io.mnistfl.fl.site.ClientRuntime;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.data.StandardDataset;
import io.mnistfl.data.TrainTestData;
import io.mnistfl.fl.sim.Partitioning;
import io.mnistfl.tf.TfClient;
import io.mnistfl.tf.TfModel;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** Runs every README example, cheaply, from a user's application. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReadmeExamplesTest {

  /** A "1" drawn dark on light, as a photo of a digit would be. */
  private static void drawOne(Path file) throws Exception {
    BufferedImage img = new BufferedImage(120, 160, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, 120, 160);
    g.setColor(Color.BLACK);
    g.setStroke(new BasicStroke(10, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
    g.drawLine(62, 20, 56, 140);
    g.dispose();
    Files.createDirectories(file.toAbsolutePath().getParent());
    ImageIO.write(img, "png", file.toFile());
  }

  @Test
  @Order(0)
  void runsOnThePathItIsMeantFor() {
    boolean modulePath = Boolean.getBoolean("readme.modulePath");
    assertEquals(modulePath, Central.class.getModule().isNamed());
    assertEquals(modulePath, TfModel.class.getModule().isNamed());
    if (modulePath) {
      assertEquals("io.mnistfl.tf", TfModel.class.getModule().getName());
      assertEquals("io.mnistfl.api", ModelSpec.class.getModule().getName());
      assertEquals(
          "io.mnistfl.grpc", io.mnistfl.fl.grpc.GrpcServer.class.getModule().getName());
    }
  }

  @Test
  @Order(1)
  void centralTrainingLearnsAndClassifiesAPicture() throws Exception {
    drawOne(Path.of("my-digit.png"));
    double accuracy = Central.run();
    assertTrue(accuracy > 0.95, "one epoch of the baseline: " + accuracy);
    assertTrue(Files.isRegularFile(Path.of("runs", "readme", "model", "weights.bin")));
  }

  @Test
  @Order(2)
  void ownPicturesAreScored() throws Exception {
    drawOne(Path.of("my-digits", "1", "a.png"));
    drawOne(Path.of("my-digits", "1", "b.png"));
    Files.write(Path.of("my-digits", "1", "broken.png"), new byte[] {1, 2, 3});
    assertEquals(1.0, OwnPictures.run());
  }

  @Test
  @Order(3)
  void theFederatedSimulationLearnsAndCheckpoints() throws Exception {
    FederationHistory history = FederatedSimulation.run();
    assertEquals(2, history.rounds().size());
    assertTrue(history.rounds().get(1).test().orElseThrow().accuracy() > 0.9);
    assertTrue(history.rounds().get(1).federated().orElseThrow().accuracy() > 0.9);
    assertTrue(Files.isDirectory(Path.of("runs", "readme", "checkpoints", "round-000002")));
  }

  @Test
  @Order(4)
  void secureAggregationSumsTheThreeSites() throws Exception {
    FederationHistory history = SecureSimulation.run();
    assertEquals(3, history.rounds().get(0).succeeded());
    assertTrue(history.rounds().get(0).abandoned().isEmpty());
    assertTrue(history.rounds().get(0).failures().isEmpty());
  }

  @Test
  @Order(5)
  void anOwnTransportAndAggregatorFederate() throws Exception {
    TrainTestData mnist = StandardDataset.MNIST.load();
    ModelSpec spec = ModelSpec.baseline();
    List<int[]> parts = new Partitioning.Iid().split(mnist.train().labels(), 10, 20, 1);
    try (TfModel shared = TfModel.create(spec); TfModel server = TfModel.create(spec)) {
      Map<String, ClientRuntime> sites = new LinkedHashMap<>();
      for (TfClient c : TfClient.simulate(shared, mnist.train(), parts.subList(0, 2), 0)) {
        sites.put(c.id(), ClientRuntime.of(c));
      }
      FederationHistory h = Federation.builder(spec, new MyTransport(sites))
          .strategy(StandardStrategy.builder().aggregator(new EqualWeights())
              .build())
          .evaluator(w -> {
            server.setWeights(w);
            return server.evaluate(mnist.test());
          }).rounds(1).build().run();
      assertEquals(2, h.rounds().get(0).succeeded());
      assertTrue(h.rounds().get(0).test().orElseThrow().accuracy() > 0.85);
    }
    float[][] pixels = {new float[784], new float[784]};
    pixels[1][400] = 1;
    MyImages mine = new MyImages(pixels, new int[] {3, 7});
    float[] copy = new float[784];
    mine.copyImage(1, copy, 0);
    assertEquals(1f, copy[400]);
    assertEquals(7, mine.label(1));
  }

  @Test
  @Order(6)
  void twoSitesFederateOverGrpcAndAreToldItEnded() throws Exception {
    java.util.Map.Entry<FederationHistory, io.mnistfl.fl.grpc.FederationEnd> run =
        GrpcFederation.run();
    assertEquals(2, run.getKey().rounds().get(0).succeeded());
    assertTrue(run.getKey().rounds().get(0).failures().isEmpty());
    assertEquals(io.mnistfl.fl.grpc.FederationEnd.Reason.FINISHED, run.getValue().reason());
  }
}
