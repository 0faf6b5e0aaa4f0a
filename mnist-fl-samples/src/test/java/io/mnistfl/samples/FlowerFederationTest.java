package io.mnistfl.samples;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mnistfl.data.StandardDataset;
import io.mnistfl.fl.Client;
import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.flower.FlowerSuperNode;
import io.mnistfl.flower.SuperNodeKey;
import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.model.Initializer;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.NpzWeights;
import io.mnistfl.model.Weights;
import io.mnistfl.tf.TfModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Java sites in federations run by a real, unmodified Flower 1.29.0 SuperLink and Flower's stock
 * FedAvg ServerApp (the test kit in ../shared/peers/flower; skipped with a message where it is
 * absent, run wherever it is present): accuracy with three sites, the exact FedAvg result of a
 * federation mixing Python and Java stand-ins, TLS with SuperNode authentication, a site killed and
 * restarted mid-run, and a SuperLink restart. Everything listens on 127.0.0.1 only; every process
 * the test starts is stopped by its id in the end.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FlowerFederationTest {
  @TempDir static Path work;
  static Path link;
  static Path tlsLink;
  static final List<Process> children = new ArrayList<>();
  static final List<FlowerSuperNode> nodes = new ArrayList<>();

  @BeforeAll
  static void superLink() throws Exception {
    FlowerKit.require();
    link = work.resolve("link");
    FlowerKit.ok(work, 120, "superlink.sh", "start", link.toString(), FlowerKit.VENV.toString());
  }

  @AfterAll
  static void stopAll() throws Exception {
    nodes.forEach(FlowerSuperNode::close);
    for (Process p : children) {
      p.destroy();
    }
    for (Process p : children) {
      if (!p.waitFor(15, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
    for (Path dir : Arrays.asList(link, tlsLink)) {
      if (dir != null && Files.isDirectory(dir)) {
        FlowerKit.run(work, 60, "supernode.sh", "stop", dir.toString(), "--all");
        FlowerKit.run(work, 60, "superlink.sh", "stop", dir.toString());
      }
    }
  }

  static int port(Path dir) throws IOException {
    return Integer.parseInt(Files.readString(dir.resolve("fleet.port")).trim());
  }

  /**
   * A "received arrays + delta" site, as the kit's stand-in ClientApp: losses are the mean absolute
   * value of the received arrays, accuracy 0, so that fedavg_expect.py can check the aggregated
   * metrics too.
   */
  record StandIn(String id, float delta, int n) implements Client {
    @Override
    public int numExamples() {
      return n;
    }

    @Override
    public ClientUpdate fit(Weights global, RoundConfig config) {
      List<Weights.NamedArray> out = new ArrayList<>();
      for (Weights.NamedArray a : global.arrays()) {
        float[] v = a.values().clone();
        for (int i = 0; i < v.length; i++) {
          v[i] += delta;
        }
        out.add(new Weights.NamedArray(a.name(), a.shape(), v));
      }
      return new ClientUpdate(id, new Weights(out), n, meanAbs(global), 0.0);
    }

    @Override
    public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
      // One wrong prediction: accuracy 0, as the stand-in reports by default.
      return new ClientEvaluation(
          id, n, meanAbs(weights), ConfusionMatrix.of(10, new int[] {0}, new int[] {1}));
    }

    static double meanAbs(Weights w) {
      double total = 0;
      long count = 0;
      for (Weights.NamedArray a : w.arrays()) {
        for (float v : a.values()) {
          total += Math.abs((double) v);
        }
        count += a.values().length;
      }
      return total / Math.max(count, 1);
    }
  }

  /** A node of stand-ins, in this JVM, that reports its events to {@code events}. */
  static FlowerSuperNode.Builder standIns(
      Path dir, ModelSpec spec, BlockingQueue<String> events, StandIn... sites) throws IOException {
    return FlowerSuperNode.builder("127.0.0.1", port(dir))
        .model(spec)
        .clients(List.of(sites))
        .pollInterval(Duration.ofMillis(500))
        .backoff(Duration.ofMillis(200), Duration.ofSeconds(2))
        .events(
            new FlowerSuperNode.Events() {
              @Override
              public void activated(String site, String nodeId) {
                events.add(site + " activated " + nodeId);
              }

              @Override
              public void refused(String site, String messageType, String reason) {
                events.add(site + " refused " + messageType + ": " + reason);
              }

              @Override
              public void dropped(String site, String why) {
                events.add(site + " dropped " + why);
              }

              @Override
              public void disconnected(String site, String why, Duration retryIn) {
                events.add(site + " disconnected " + why);
              }
            });
  }

  /** The given weights' layout, every value {@code value}: exact in float32 FedAvg. */
  static Weights filled(ModelSpec spec, float value) {
    List<Weights.NamedArray> arrays = new ArrayList<>();
    for (var p : spec.parameters()) {
      float[] v = new float[p.size()];
      Arrays.fill(v, value);
      arrays.add(new Weights.NamedArray(p.name(), p.shape(), v));
    }
    return new Weights(arrays);
  }

  static JsonNode json(Path file) throws IOException {
    return new ObjectMapper().readTree(file.toFile());
  }

  /** Starts the CLI in a JVM of its own, output to {@code name}.log. */
  static Process cli(String name, String... args) throws IOException {
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName()));
    command.addAll(List.of(args));
    ProcessBuilder b =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(work.resolve(name + ".log").toFile());
    b.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    Process p = b.start();
    children.add(p);
    return p;
  }

  static String log(String name) {
    try {
      Path f = work.resolve(name + ".log");
      return Files.exists(f) ? Files.readString(f, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      return "";
    }
  }

  static void await(BooleanSupplier condition, int seconds, String what, String... logs)
      throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        StringBuilder s = new StringBuilder("not within " + seconds + " s: " + what);
        for (String l : logs) {
          s.append("\n== ").append(l).append('\n').append(FlowerKit.tail(log(l)));
        }
        throw new AssertionError(s);
      }
      Thread.sleep(100);
    }
  }

  /** Node ids a CLI site printed as "SITE: node ID active", in order. */
  static List<String> activeNodes(String logName) {
    List<String> ids = new ArrayList<>();
    Matcher m = Pattern.compile("(?m)^\\S+: node (\\d+) active$").matcher(log(logName));
    while (m.find()) {
      ids.add(m.group(1));
    }
    return ids;
  }

  static Set<String> replied(JsonNode metrics, String phase, int round) {
    Set<String> ids = new HashSet<>();
    metrics
        .get("replies")
        .get(phase)
        .get(String.valueOf(round))
        .get("replied")
        .forEach(n -> ids.add(n.asText()));
    return ids;
  }

  /** Runs the CLI in this JVM and returns what it printed; asserts its exit status. */
  static String cliHere(int expectedExit, String... args) {
    PrintStream out = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    int exit;
    try (PrintStream p = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
      System.setOut(p);
      exit = Main.commandLine().execute(args);
    } finally {
      System.setOut(out);
    }
    String text = captured.toString(StandardCharsets.UTF_8);
    assertThat(exit).as("mnist-fl %s:\n%s", List.of(args), text).isEqualTo(expectedExit);
    return text;
  }

  @Test
  @Order(1)
  void pythonAndJavaStandInsGiveFlowersFedAvgExactly() throws Exception {
    // McMahan's CNN: its dense kernel (6.4 MB) crosses the wire in two 5 MiB chunks each way.
    ModelSpec spec = ModelSpec.mcmahanCnn();
    Path init = work.resolve("mixed-init.npz");
    NpzWeights.write(filled(spec, 0.5f), init);
    FlowerKit.ok(
        work,
        120,
        "supernode.sh",
        "start",
        link.toString(),
        "py1",
        "--node-config",
        "delta=1.0 num-examples=10");
    FlowerKit.ok(
        work,
        120,
        "supernode.sh",
        "start",
        link.toString(),
        "py2",
        "--node-config",
        "delta=2.0 num-examples=30");
    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    Path out = work.resolve("mixed-out");
    try (FlowerSuperNode java =
        standIns(
                link,
                spec,
                events,
                new StandIn("java-1", -0.5f, 20),
                new StandIn("java-2", 0.25f, 20))
            .insecure()
            .build()
            .start()) {
      assertThat(java.awaitActivated(Duration.ofSeconds(30))).as("%s", events).isTrue();
      FlowerKit.ok(
          work,
          300,
          "run-app.sh",
          link.toString(),
          "",
          "300",
          "initial-arrays=" + init,
          "out-dir=" + out,
          "min-nodes=4",
          "num-server-rounds=2",
          "array-keys=\"npz\"",
          "require-all-replies=true");
      JsonNode metrics = json(out.resolve("metrics.json"));
      assertThat(replied(metrics, "train", 2)).containsAll(java.nodeIds().values());
    } finally {
      FlowerKit.run(work, 60, "supernode.sh", "stop", link.toString(), "--all");
    }
    String check =
        FlowerKit.ok(
            work,
            120,
            "fedavg_expect.py",
            "--initial",
            init.toString(),
            "--rounds",
            "2",
            "--node=1.0:10",
            "--node=2.0:30",
            "--node=-0.5:20",
            "--node=0.25:20",
            "--check",
            out.resolve("final.npz").toString(),
            "--metrics",
            out.resolve("metrics.json").toString());
    assertThat(check).contains("equals the exact FedAvg expectation").doesNotContain("warning");
    System.out.print("mixed federation: " + check);
    assertThat(events).noneMatch(e -> e.contains("refused") || e.contains("dropped"));
    // The final arrays, read back by this library under the model's names.
    Weights fin = NpzWeights.read(out.resolve("final.npz"), spec);
    assertThat(fin.arrays().get(4).values()[0]).isEqualTo(0.5f + 2 * 0.8125f);
  }

  @Test
  @Order(2)
  void threeJavaSitesAndFlowersFedAvgReachNinetyFivePercent() throws Exception {
    Path init = work.resolve("baseline-init.npz");
    cliHere(0, "export-weights", "--model", "baseline", "--out", init.toString());
    Process sites =
        cli(
            "three-sites",
            "client",
            "--flower-superlink",
            "127.0.0.1:" + port(link),
            "--insecure",
            "--model",
            "baseline",
            "--simulate-sites",
            "3",
            "--clients",
            "3",
            "--index-range",
            "0-2",
            "--threads",
            "2");
    await(() -> activeNodes("three-sites").size() == 3, 120, "three nodes active", "three-sites");
    Path out = work.resolve("three-out");
    FlowerKit.ok(
        work,
        600,
        "run-app.sh",
        link.toString(),
        "",
        "600",
        "initial-arrays=" + init,
        "out-dir=" + out,
        "min-nodes=3",
        "num-server-rounds=2",
        "lr=0.05",
        "local-epochs=1",
        "batch-size=32",
        "require-all-replies=true");
    sites.destroy();
    assertThat(sites.waitFor(30, TimeUnit.SECONDS)).isTrue();
    JsonNode metrics = json(out.resolve("metrics.json"));
    double federated = metrics.get("evaluate").get("2").get("accuracy").asDouble();
    assertThat(federated)
        .as("FedAvg's aggregated evaluate accuracy, round 2")
        .isGreaterThanOrEqualTo(0.95);
    assertThat(replied(metrics, "train", 2))
        .containsExactlyInAnyOrderElementsOf(activeNodes("three-sites"));
    String report =
        cliHere(
            0,
            "evaluate",
            "--model",
            "baseline",
            "--weights",
            out.resolve("final.npz").toString(),
            "--threads",
            "2");
    Matcher m = Pattern.compile("accuracy (0\\.\\d+)").matcher(report);
    assertThat(m.find()).as(report).isTrue();
    double test = Double.parseDouble(m.group(1));
    System.out.printf(
        "three Java sites + Flower's FedAvg, 2 rounds: federated evaluation %.4f, final.npz on"
            + " MNIST's test set %.4f%n",
        federated, test);
    assertThat(test).as("final.npz on MNIST's test set").isGreaterThanOrEqualTo(0.95);
    // The same, through the API.
    try (TfModel model = TfModel.create(ModelSpec.baseline())) {
      model.setWeights(NpzWeights.read(out.resolve("final.npz"), ModelSpec.baseline()));
      assertThat(model.evaluate(StandardDataset.MNIST.load().test()).accuracy())
          .isGreaterThanOrEqualTo(0.95);
    }
  }

  @Test
  @Order(3)
  void aSiteKilledMidRunRejoinsTheRunCompletesAndASuperLinkRestartIsSurvived() throws Exception {
    Path init = work.resolve("kill-init.npz");
    cliHere(0, "export-weights", "--model", "baseline", "--out", init.toString());
    String[] common = {
      "--insecure",
      "--clients",
      "20",
      "--threads",
      "1",
      "--heartbeat-interval",
      "10",
      "--max-backoff",
      "2"
    };
    List<String> a =
        new ArrayList<>(List.of("client", "--flower-superlink", "127.0.0.1:" + port(link)));
    a.addAll(List.of(common));
    a.addAll(List.of("--simulate-sites", "2", "--index-range", "0-1"));
    cli("steady", a.toArray(String[]::new));
    List<String> b =
        new ArrayList<>(List.of("client", "--flower-superlink", "127.0.0.1:" + port(link)));
    b.addAll(List.of(common));
    b.addAll(List.of("--index", "2"));
    Process victim = cli("victim", b.toArray(String[]::new));
    await(
        () -> activeNodes("steady").size() == 2 && activeNodes("victim").size() == 1,
        120,
        "three nodes",
        "steady",
        "victim");
    String victimNode = activeNodes("victim").get(0);
    Path out = work.resolve("kill-out");
    Path runLog = work.resolve("kill-run.log");
    Process run =
        FlowerKit.start(
            work,
            runLog,
            "run-app.sh",
            link.toString(),
            "",
            "600",
            "initial-arrays=" + init,
            "out-dir=" + out,
            "min-nodes=3",
            "num-server-rounds=3",
            "round-timeout=120");
    children.add(run);
    await(
        () -> log("victim").contains("train round 1:"),
        180,
        "the victim's first round",
        "victim",
        "steady");
    victim.destroyForcibly(); // kill -9: no deactivation, no goodbye
    assertThat(victim.waitFor(30, TimeUnit.SECONDS)).isTrue();
    Process reborn = cli("reborn", b.toArray(String[]::new));
    await(() -> activeNodes("reborn").size() == 1, 120, "the restarted site", "reborn");
    String rebornNode = activeNodes("reborn").get(0);
    assertThat(run.waitFor(600, TimeUnit.SECONDS)).as("the run ends").isTrue();
    assertThat(run.exitValue())
        .as("the run completes:\n%s", FlowerKit.tail(Files.readString(runLog)))
        .isZero();
    JsonNode metrics = json(out.resolve("metrics.json"));
    assertThat(replied(metrics, "train", 1)).contains(victimNode);
    assertThat(replied(metrics, "train", 3)).contains(rebornNode).doesNotContain(victimNode);
    assertThat(replied(metrics, "train", 3)).containsAll(activeNodes("steady"));
    // The killed node's only trace: the SuperLink's "node unavailable" (code 5) for what it missed.
    for (String phase : List.of("train", "evaluate")) {
      metrics
          .get("replies")
          .get(phase)
          .forEach(
              round ->
                  round
                      .get("errors")
                      .forEach(
                          e -> {
                            assertThat(e.get("node").asText()).isEqualTo(victimNode);
                            assertThat(e.get("code").asInt()).isEqualTo(5);
                          }));
    }
    System.out.println(
        "killed node "
            + victimNode
            + ", restarted as "
            + rebornNode
            + "; replies: "
            + metrics.get("replies"));

    // The SuperLink restarts (same folder: ports, database); the sites find it again by themselves.
    int before = activeNodes("steady").size() + activeNodes("reborn").size();
    FlowerKit.ok(work, 60, "superlink.sh", "stop", link.toString());
    FlowerKit.ok(work, 120, "superlink.sh", "start", link.toString());
    await(
        () -> activeNodes("steady").size() + activeNodes("reborn").size() >= before + 3,
        120,
        "the three nodes active again",
        "steady",
        "reborn");
    Path again = work.resolve("restart-out");
    FlowerKit.ok(
        work,
        300,
        "run-app.sh",
        link.toString(),
        "",
        "300",
        "initial-arrays=" + init,
        "out-dir=" + again,
        "min-nodes=3",
        "num-server-rounds=1",
        "require-all-replies=true");
    Set<String> after = replied(json(again.resolve("metrics.json")), "train", 1);
    assertThat(after).containsAll(activeNodes("steady").subList(0, 2)).contains(rebornNode);
    assertThat(log("steady")).contains("disconnected: the SuperLink is unreachable");
    reborn.destroy();
  }

  /** A tiny model for the authentication test, whose arrays are a [3, 2] kernel and a bias. */
  static final ModelSpec PAIR =
      ModelSpec.builder()
          .name("pair")
          .input(1, 3)
          .numClasses(2)
          .flatten()
          .logits(Initializer.GLOROT_UNIFORM)
          .build();

  @Test
  @Order(4)
  void tlsWithARegisteredKeyTrainsAndAnUnregisteredKeyIsRefusedWithTheReason() throws Exception {
    tlsLink = work.resolve("tls-link");
    FlowerKit.ok(
        work, 120, "superlink.sh", "start", tlsLink.toString(), FlowerKit.VENV.toString(), "--tls");
    Path key = work.resolve("keys/site.pem");
    String printed = cliHere(0, "supernode-key", "--out", key.toString());
    assertThat(printed.strip()).startsWith("ecdsa-sha2-nistp384 ");
    assertThat(Files.readString(Path.of(key + ".pub")).strip()).isEqualTo(printed.strip());
    String registered =
        FlowerKit.ok(work, 120, "register-node.sh", tlsLink.toString(), key + ".pub");
    Matcher id = Pattern.compile("registered node_id=(\\d+)").matcher(registered);
    assertThat(id.find()).as(registered).isTrue();
    Path ca = tlsLink.resolve("ca.pem");

    BlockingQueue<String> strangerEvents = new LinkedBlockingQueue<>();
    FlowerSuperNode stranger =
        standIns(tlsLink, PAIR, strangerEvents, new StandIn("stranger", 1f, 10))
            .rootCertificates(ca)
            .authKey(SuperNodeKey.generate())
            .build()
            .start();
    nodes.add(stranger);
    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    Path init = work.resolve("pair-init.npz");
    NpzWeights.write(filled(PAIR, 0.5f), init);
    Path out = work.resolve("tls-out");
    try (FlowerSuperNode site =
        standIns(tlsLink, PAIR, events, new StandIn("site", 1.5f, 10))
            .rootCertificates(ca)
            .authKey(SuperNodeKey.read(key))
            .build()
            .start()) {
      assertThat(site.awaitActivated(Duration.ofSeconds(30))).as("%s", events).isTrue();
      assertThat(site.nodeIds()).containsEntry("site", id.group(1));
      FlowerKit.ok(
          work,
          300,
          "run-app.sh",
          tlsLink.toString(),
          "",
          "300",
          "initial-arrays=" + init,
          "out-dir=" + out,
          "min-nodes=1",
          "num-server-rounds=1",
          "require-all-replies=true");
    }
    Weights fin = NpzWeights.read(out.resolve("final.npz"), PAIR);
    assertThat(fin.arrays().get(0).values()).containsOnly(2.0f);
    String why = strangerEvents.poll(30, TimeUnit.SECONDS);
    assertThat(why)
        .isEqualTo(
            "stranger disconnected the SuperLink knows no SuperNode with this public key"
                + " (No SuperNode found with the given public key.): register it first with `flwr"
                + " supernode register KEY.pub`");
    assertThat(stranger.nodeIds()).isEmpty();
    stranger.close();
  }
}
