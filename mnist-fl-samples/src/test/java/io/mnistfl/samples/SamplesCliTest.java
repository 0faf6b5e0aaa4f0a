package io.mnistfl.samples;

import static org.assertj.core.api.Assertions.assertThat;

import io.mnistfl.data.DataSource;
import io.mnistfl.data.StandardDataset;
import io.mnistfl.fl.privacy.PrivacyAccountant;
import io.mnistfl.train.Json;
import io.mnistfl.train.TrainingRecord;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/** The CLI end to end: train a short run, evaluate it, predict digits in rendered image files. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SamplesCliTest {
  @TempDir static Path work;
  static Path run;

  record Outcome(int exit, String out, String err) {}

  static Outcome cli(String... args) {
    return run(Main::commandLine, args);
  }

  /** Runs a command line made after stdout and stderr are captured, as picocli binds them. */
  static Outcome run(java.util.function.Supplier<picocli.CommandLine> command, String... args) {
    PrintStream oldOut = System.out;
    PrintStream oldErr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      int exit = command.get().execute(args);
      return new Outcome(
          exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(oldOut);
      System.setErr(oldErr);
    }
  }

  @BeforeAll
  static void trainOnce() {
    run = work.resolve("run");
    Outcome o =
        cli(
            "train",
            "--epochs",
            "1",
            "--limit",
            "24000",
            "--validation-size",
            "2000",
            "--out",
            run.toString());
    assertThat(o.exit()).as(o.err()).isZero();
    assertThat(o.out()).contains("epoch 1/1 - ").contains("val_accuracy").contains("test: loss");
  }

  @Test
  @Order(1)
  void trainWritesModelMetricsHistoryAndPlots() throws Exception {
    for (String file :
        new String[] {
          "model/spec.json",
          "model/weights.bin",
          "model/training.json",
          "metrics.json",
          "history.csv",
          "loss.png",
          "accuracy.png"
        }) {
      assertThat(run.resolve(file)).isRegularFile();
    }
    TrainingRecord record = Json.read(run.resolve("model/training.json"), TrainingRecord.class);
    assertThat(record.provenance().trainExamples()).isEqualTo(22_000);
    assertThat(record.provenance().settings())
        .containsEntry("data.validationExamples", "2000")
        .containsEntry("training.epochs", "1")
        .containsEntry("data.limit", "24000");
    assertThat(record.epochs()).hasSize(1);
    assertThat(record.test().orElseThrow().accuracy()).isGreaterThan(0.95);
    assertThat(Files.readAllLines(run.resolve("history.csv"))).hasSize(2);
    assertThat(Files.readAllBytes(run.resolve("loss.png"))).startsWith(0x89, 'P', 'N', 'G');
  }

  @Test
  @Order(2)
  void evaluateReportsTheSavedModelsTestMetrics() throws Exception {
    Path json = work.resolve("eval.json");
    Outcome o =
        cli("evaluate", "--model", run.resolve("model").toString(), "--json", json.toString());
    assertThat(o.exit()).as(o.err()).isZero();
    assertThat(o.out()).contains("accuracy").contains("macro").contains("actual\\pred");
    TrainingRecord record = Json.read(run.resolve("model/training.json"), TrainingRecord.class);
    // The loaded model reproduces the metrics measured before saving.
    assertThat(Files.readString(json))
        .contains("\"accuracy\" : " + record.test().orElseThrow().accuracy());
  }

  @Test
  @Order(3)
  void predictReadsRealWorldPicturesAndSurvivesABadFile() throws Exception {
    DataSource test = StandardDataset.MNIST.load().test();
    Path images = Files.createDirectories(work.resolve("images"));
    Random random = new Random(11);
    List<String> args =
        new ArrayList<>(List.of("predict", "--model", run.resolve("model").toString()));
    int n = 120;
    for (int i = 0; i < n; i++) {
      args.add(Handwriting.render(test, i * 37, images, random).toString());
    }
    Path corrupt = images.resolve("corrupt.png");
    Files.write(corrupt, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
    args.add(n / 2, corrupt.toString());

    Outcome o = cli(args.toArray(String[]::new));

    assertThat(o.exit()).isEqualTo(1);
    assertThat(o.err()).contains("corrupt.png ERROR");
    List<String> lines = o.out().lines().toList();
    assertThat(lines).hasSize(n);
    int correct = 0;
    for (String line : lines) {
      String[] parts = line.split(" ");
      String name = Path.of(parts[0]).getFileName().toString();
      int label = Integer.parseInt(name.replaceAll(".*-label-(\\d)\\..*", "$1"));
      assertThat(Double.parseDouble(parts[2])).isBetween(0.0, 1.0);
      correct += Integer.parseInt(parts[1]) == label ? 1 : 0;
    }
    System.out.println("predict on rendered handwriting: " + correct + "/" + n);
    // Measured 108/120 (90 %) with this one-epoch model; the bar leaves room for other CPUs.
    assertThat(correct).isGreaterThanOrEqualTo((int) (0.85 * n));
  }

  @Test
  @Order(3)
  void oneFilesErrorEvenAnErrorLosesNoOtherFilesPrediction() throws Exception {
    DataSource test = StandardDataset.MNIST.load().test();
    Path images = Files.createDirectories(work.resolve("isolation"));
    Random random = new Random(5);
    Path first = Handwriting.render(test, 3, images, random);
    Path bomb = Handwriting.render(test, 4, images, random);
    Path last = Handwriting.render(test, 5, images, random);
    Path header = images.resolve("header-only.png");
    // A 45-byte PNG declaring 20000 x 20000 pixels: refused by the cap before decoding.
    Files.write(
        header,
        java.util.HexFormat.of()
            .parseHex(
                "89504e470d0a1a0a0000000d494844520000"
                    + "4e2000004e200800000000c61b19e50000000049454e44ae426082"));
    PredictCommand.PictureReader injected =
        file -> {
          if (file.equals(bomb)) {
            // The caps keep real files from reaching an OutOfMemoryError, so one is injected.
            throw new OutOfMemoryError("Java heap space (injected)");
          }
          return io.mnistfl.data.DigitImages.load(file);
        };
    Outcome o =
        run(
            () -> new picocli.CommandLine(new PredictCommand(injected)),
            "--model",
            run.resolve("model").toString(),
            first.toString(),
            bomb.toString(),
            header.toString(),
            last.toString());

    assertThat(o.exit()).isEqualTo(1);
    assertThat(o.err().lines())
        .containsExactly(
            bomb + " ERROR java.lang.OutOfMemoryError: Java heap space (injected)",
            header
                + " ERROR "
                + header
                + ": 20000 x 20000 pixels (400.0 megapixels) is above the"
                + " cap of 50.0 megapixels; not decoded");
    assertThat(o.out().lines().map(l -> l.split(" ")[0]))
        .containsExactly(first.toString(), last.toString());
  }

  @Test
  @Order(4)
  void evaluateTakesYourOwnLabelledPictures() throws Exception {
    DataSource test = StandardDataset.MNIST.load().test();
    Path own = work.resolve("own");
    Random random = new Random(5);
    int n = 100;
    for (int i = 0; i < n; i++) {
      int index = 5000 + i * 13;
      Path folder = Files.createDirectories(own.resolve(String.valueOf(test.label(index))));
      Handwriting.render(test, index, folder, random);
    }
    Path corrupt = Files.createDirectories(own.resolve("4")).resolve("corrupt.png");
    Files.write(corrupt, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});

    Outcome o =
        cli("evaluate", "--model", run.resolve("model").toString(), "--images", own.toString());

    assertThat(o.exit()).isEqualTo(1);
    assertThat(o.err()).contains("skipped " + corrupt + ": ");
    assertThat(o.out()).contains("images: 100 pictures from " + own + ", 1 unreadable left out");
    double accuracy =
        Double.parseDouble(o.out().replaceAll("(?s).*? - accuracy ([0-9.]+).*", "$1"));
    System.out.println("evaluate on own rendered pictures: accuracy " + accuracy);
    // Measured 0.92 with this one-epoch model; the bar leaves room for other CPUs.
    assertThat(accuracy).isGreaterThan(0.85);
  }

  @Test
  void federateWritesHistoryAndPlotsPerRound() throws Exception {
    Path dir = work.resolve("fed");
    Outcome o =
        cli(
            "federate",
            "--clients",
            "20",
            "--fraction",
            "0.1",
            "--rounds",
            "2",
            "--partition",
            "shards",
            "--aggregator",
            "fedavgm",
            "--out",
            dir.toString());
    assertThat(o.exit()).as(o.err()).isZero();
    assertThat(o.out())
        .contains("round 1 - 2/2 sites")
        .contains("round 2 - 2/2 sites")
        .contains("2 rounds in");
    assertThat(Files.readAllLines(dir.resolve("history.csv"))).hasSize(3);
    for (String plot : new String[] {"accuracy", "precision", "recall", "f1", "loss"}) {
      assertThat(dir.resolve(plot + ".png")).isRegularFile();
    }
    assertThat(Files.readString(dir.resolve("history.json"))).contains("\"round\" : 2");
    // The final global model is saved with its provenance and evaluates to round 2's accuracy.
    TrainingRecord record = Json.read(dir.resolve("model/training.json"), TrainingRecord.class);
    assertThat(record.provenance().kind()).isEqualTo("federated");
    assertThat(record.provenance().settings())
        .containsEntry("strategy.aggregator", "FedAvgM(eta=1.0, beta=0.9)")
        .containsEntry("strategy.sampling", "fraction 0.1, at least 1")
        .containsEntry("data.partition", "shards")
        .containsEntry("data.clients", "20");
    assertThat(record.provenance().sites()).hasSize(20).contains("client-000", "client-019");
    assertThat(record.provenance().backend()).startsWith("tensorflow-java ");
    String lastAccuracy = Files.readAllLines(dir.resolve("history.csv")).get(2).split(",")[6];
    Outcome evaluated = cli("evaluate", "--model", dir.resolve("model").toString());
    assertThat(evaluated.exit()).as(evaluated.err()).isZero();
    assertThat(evaluated.out())
        .contains(String.format("accuracy %.4f", Double.parseDouble(lastAccuracy)));
  }

  @Test
  void federateResumesFromItsCheckpointAsIfNeverStopped() throws Exception {
    Path resumed = work.resolve("resumed");
    Path whole = work.resolve("whole");
    // FedAvgM's server momentum must carry over too, through the checkpoint's state.bin.
    String[] options = {
      "federate",
      "--model",
      "baseline",
      "--clients",
      "20",
      "--fraction",
      "0.1",
      "--aggregator",
      "fedavgm"
    };
    assertThat(cli(concat(options, "--rounds", "1", "--out", resumed.toString())).exit()).isZero();
    assertThat(resumed.resolve("checkpoints/round-000001/state.bin")).isRegularFile();
    Outcome more = cli(concat(options, "--rounds", "2", "--resume", "--out", resumed.toString()));
    assertThat(more.exit()).as(more.err()).isZero();
    assertThat(more.out())
        .contains("resuming after round 1")
        .contains("round 2 - 2/2 sites")
        .doesNotContain("round 1 - ");
    assertThat(cli(concat(options, "--rounds", "2", "--out", whole.toString())).exit()).isZero();
    // Same rounds, same losses and test metrics.
    assertThat(metricsColumns(resumed)).hasSize(2).isEqualTo(metricsColumns(whole));

    Outcome changed =
        cli(
            concat(
                options, "--rounds", "3", "--lr", "0.02", "--resume", "--out", resumed.toString()));
    assertThat(changed.exit()).isEqualTo(2);
    assertThat(changed.err())
        .isEqualTo(
            "federate: cannot resume checkpoint of round 2:"
                + " strategy.training.learningRate: saved 0.01, now 0.02"
                + System.lineSeparator());
    Outcome none =
        cli(
            concat(
                options,
                "--rounds",
                "3",
                "--resume",
                "--out",
                work.resolve("never-run").toString()));
    assertThat(none.exit()).isEqualTo(1);
    assertThat(none.err()).contains("holds no checkpoint");
  }

  private static List<String> metricsColumns(Path dir) throws Exception {
    // everything after round, sampled, succeeded and seconds
    return Files.readAllLines(dir.resolve("history.csv")).stream()
        .skip(1)
        .map(row -> row.split(",", 5)[4])
        .toList();
  }

  private static String[] concat(String[] first, String... rest) {
    String[] all = Arrays.copyOf(first, first.length + rest.length);
    System.arraycopy(rest, 0, all, first.length, rest.length);
    return all;
  }

  @Test
  void federateSimulatesAttackersAndReportsThePrivacySpent() {
    Outcome o =
        cli(
            "federate",
            "--clients",
            "20",
            "--fraction",
            "0.1",
            "--rounds",
            "2",
            "--model",
            "baseline",
            "--byzantine",
            "1",
            "--dp-clip",
            "1",
            "--dp-noise",
            "1.0",
            "--out",
            work.resolve("dp").toString());
    assertThat(o.exit()).as(o.err()).isZero();
    assertThat(o.out())
        .contains("20 clients (iid) of which 1 attackers")
        .contains("dp.clipNorm=1.0, dp.noiseMultiplier=1.0, dp.q=0.1")
        .containsPattern("round 2 - \\d+/\\d+ sites")
        .contains(
            String.format(
                "privacy: user-level (epsilon %.3g, delta 1.0E-5) after 2 rounds",
                PrivacyAccountant.epsilon(0.1, 1.0, 2, 1e-5)))
        .contains("each of 20 clients sampled with probability 0.100")
        .contains("dp.randomness=SecureRandom");
    // The provenance saved with the model names the source of the noise.
    assertThat(work.resolve("dp").resolve("model").resolve("training.json"))
        .content()
        .contains("\"strategy.dp.randomness\" : \"SecureRandom\"");
  }

  @Test
  void seededDpNoiseIsForSimulationsOnlyAndReproducesThem() throws Exception {
    Outcome listen =
        cli(
            "federate",
            "--listen",
            "localhost:0",
            "--insecure",
            "--dp-clip",
            "1",
            "--dp-seeded-noise",
            "--out",
            work.resolve("bad").toString());
    assertThat(listen.exit()).isEqualTo(2);
    assertThat(listen.err())
        .isEqualTo(
            "federate: --dp-seeded-noise would let anyone who knows the seed regenerate the"
                + " noise and subtract it; with --listen the noise comes from SecureRandom only"
                + System.lineSeparator());
    String[] seeded = {
      "federate",
      "--clients",
      "4",
      "--fraction",
      "0.5",
      "--rounds",
      "1",
      "--model",
      "baseline",
      "--local-epochs",
      "1",
      "--dp-clip",
      "1",
      "--dp-noise",
      "1.0",
      "--dp-seeded-noise"
    };
    Outcome a = cli(concat(seeded, "--out", work.resolve("dp-a").toString()));
    Outcome b = cli(concat(seeded, "--out", work.resolve("dp-b").toString()));
    assertThat(a.exit()).as(a.err()).isZero();
    assertThat(b.exit()).as(b.err()).isZero();
    assertThat(a.out())
        .contains("dp.randomness=seeded 42 (a reproducible simulation: not private)");
    assertThat(java.nio.file.Files.readAllBytes(work.resolve("dp-a/model/weights.bin")))
        .isEqualTo(java.nio.file.Files.readAllBytes(work.resolve("dp-b/model/weights.bin")));
  }

  @Test
  void everyCommandHasHelp() {
    for (String command : new String[] {"train", "evaluate", "predict", "federate", "bench"}) {
      Outcome o = cli(command, "--help");
      assertThat(o.exit()).isZero();
      assertThat(o.out()).contains("Usage: mnist-fl " + command);
    }
  }

  @Test
  void badArgumentsAreNamed() {
    Outcome o =
        cli("train", "--model", "resnet", "--epochs", "1", "--out", work.resolve("bad").toString());
    assertThat(o.exit()).isEqualTo(2);
    assertThat(o.err())
        .isEqualTo(
            "train: unknown model preset 'resnet', expected baseline,"
                + " regularized or mcmahan-cnn"
                + System.lineSeparator());
    Outcome decay = cli("federate", "--lr-decay", "1.5", "--out", work.resolve("bad").toString());
    assertThat(decay.exit()).isEqualTo(2);
    assertThat(decay.err())
        .contains("federate: learningRateDecay must be in (0, 1], was 1.5")
        .doesNotContain("\tat ");
    Outcome missing = cli("evaluate", "--model", work.resolve("nothing").toString());
    assertThat(missing.exit()).isEqualTo(1);
    assertThat(missing.err())
        .contains("evaluate: ")
        .contains("is not a saved model")
        .doesNotContain("\tat ");
    // The model is checked before any image, so a bad --model is reported even if no file reads.
    Outcome noModel =
        cli(
            "predict",
            "--model",
            work.resolve("nothing").toString(),
            work.resolve("no-such.png").toString());
    assertThat(noModel.exit()).isEqualTo(1);
    assertThat(noModel.err())
        .startsWith("predict: ")
        .contains("is not a saved model")
        .doesNotContain("no-such.png");
    Outcome dp = cli("federate", "--dp-clip", "1", "--aggregator", "krum");
    assertThat(dp.exit()).isEqualTo(2);
    assertThat(dp.err())
        .isEqualTo(
            "federate: --dp-clip runs DP-FedAvg, which averages; leave"
                + " out --aggregator krum"
                + System.lineSeparator());
    Outcome minimum = cli("federate", "--dp-clip", "1", "--min-clients", "3");
    assertThat(minimum.exit()).isEqualTo(2);
    assertThat(minimum.err())
        .isEqualTo(
            "federate: --dp-clip samples each client with"
                + " probability C, so there is no minimum; leave out --min-clients 3"
                + System.lineSeparator());
    Outcome target = cli("federate", "--target", "99", "--out", work.resolve("bad").toString());
    assertThat(target.exit()).isEqualTo(2);
    assertThat(target.err())
        .isEqualTo("federate: --target must be in (0, 1], was 99.0" + System.lineSeparator());
  }
}
