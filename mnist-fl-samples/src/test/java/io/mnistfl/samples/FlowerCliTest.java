package io.mnistfl.samples;

import static org.assertj.core.api.Assertions.assertThat;

import io.mnistfl.flower.SuperNodeKey;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.NpzWeights;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Flower-side commands that need no SuperLink: weights as .npz, keys, and option errors. */
class FlowerCliTest {
  @TempDir Path work;

  static SamplesCliTest.Outcome cli(String... args) {
    return SamplesCliTest.run(Main::commandLine, args);
  }

  @Test
  void exportWeightsWritesThePresetsInitialWeightsInModelOrder() throws Exception {
    Path out = work.resolve("init.npz");
    SamplesCliTest.Outcome o =
        cli("export-weights", "--model", "mcmahan-cnn", "--out", out.toString());
    assertThat(o.exit()).as(o.err()).isZero();
    assertThat(o.out()).contains("8 float32 arrays of mcmahan-cnn (1,663,370 values)");
    assertThat(NpzWeights.read(out, ModelSpec.mcmahanCnn()))
        .isEqualTo(ModelSpec.mcmahanCnn().initialWeights());
  }

  @Test
  void evaluateRefusesWeightsOfAnotherModelNamingTheFile() throws Exception {
    Path out = work.resolve("baseline.npz");
    assertThat(cli("export-weights", "--model", "baseline", "--out", out.toString()).exit())
        .isZero();
    SamplesCliTest.Outcome o =
        cli("evaluate", "--model", "mcmahan-cnn", "--weights", out.toString());
    assertThat(o.exit()).isEqualTo(1);
    assertThat(o.err()).startsWith("evaluate: " + out + ": 6 arrays, mcmahan-cnn has 8");
    SamplesCliTest.Outcome bad =
        cli("export-weights", "--model", "resnet", "--out", out.toString());
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.err())
        .contains("--model takes baseline, regularized, mcmahan-cnn or a saved model folder");
  }

  @Test
  void superNodeKeyPrintsTheLineFlwrSupernodeRegisterTakes() throws Exception {
    Path key = work.resolve("keys/site.pem");
    SamplesCliTest.Outcome o = cli("supernode-key", "--out", key.toString());
    assertThat(o.exit()).as(o.err()).isZero();
    String line = o.out().strip();
    assertThat(line).startsWith("ecdsa-sha2-nistp384 AAAA");
    assertThat(Files.readString(Path.of(key + ".pub")).strip()).isEqualTo(line);
    assertThat(SuperNodeKey.read(key).openSshPublicKey()).isEqualTo(line);
    assertThat(o.err()).contains("flwr supernode register " + key + ".pub");
    SamplesCliTest.Outcome again = cli("supernode-key", "--out", key.toString());
    assertThat(again.exit()).isEqualTo(2);
    assertThat(again.err()).contains("exists; keys are not overwritten");
  }

  @Test
  void clientOptionsForFlowerAreCheckedByName() {
    SamplesCliTest.Outcome both =
        cli("client", "--server", "localhost:1", "--flower-superlink", "localhost:2", "--insecure");
    assertThat(both.exit()).isEqualTo(2);
    assertThat(both.err())
        .contains("client needs one of --server HOST:PORT and --flower-superlink HOST:PORT");
    SamplesCliTest.Outcome tls =
        cli(
            "client",
            "--flower-superlink",
            "localhost:2",
            "--insecure",
            "--root-certificates",
            "ca.pem");
    assertThat(tls.exit()).isEqualTo(2);
    assertThat(tls.err())
        .contains(
            "--flower-superlink needs exactly one of --insecure and --root-certificates CA.pem");
    SamplesCliTest.Outcome beat =
        cli(
            "client",
            "--flower-superlink",
            "localhost:2",
            "--insecure",
            "--heartbeat-interval",
            "5");
    assertThat(beat.exit()).isEqualTo(2);
    assertThat(beat.err()).contains("--heartbeat-interval must be 10 to 1800 seconds, was 5.0");
    SamplesCliTest.Outcome model =
        cli("client", "--server", "localhost:1", "--insecure", "--model", "baseline");
    assertThat(model.exit()).isEqualTo(2);
    assertThat(model.err()).contains("are for --flower-superlink");
    SamplesCliTest.Outcome port = cli("client", "--flower-superlink", "localhost", "--insecure");
    assertThat(port.exit()).isEqualTo(2);
    assertThat(port.err()).contains("--flower-superlink takes HOST:PORT, was localhost");
  }

  @Test
  void everyFlowerCommandHasHelp() {
    for (String command : new String[] {"export-weights", "supernode-key", "client"}) {
      SamplesCliTest.Outcome o = cli(command, "--help");
      assertThat(o.exit()).isZero();
      assertThat(o.out()).contains("Usage: mnist-fl " + command);
    }
    assertThat(cli("client", "--help").out()).contains("--flower-superlink").contains("--auth-key");
    assertThat(cli("evaluate", "--help").out()).contains("--weights=FILE.npz");
  }
}
