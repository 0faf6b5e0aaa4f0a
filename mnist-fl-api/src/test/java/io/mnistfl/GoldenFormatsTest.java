package io.mnistfl;

import static org.assertj.core.api.Assertions.assertThat;

import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.fl.StrategyState;
import io.mnistfl.fl.UpdateEncoding;
import io.mnistfl.fl.checkpoint.Checkpoint;
import io.mnistfl.fl.checkpoint.CheckpointStore;
import io.mnistfl.fl.wire.Messages;
import io.mnistfl.model.Weights;
import io.mnistfl.model.WeightsCodec;
import io.mnistfl.train.LocalTraining;
import io.mnistfl.train.ModelDirectory;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Every saved and wire format against a small committed file: today's reader must decode it to the
 * values it was made from, and today's writer must produce the same bytes, so that an accidental
 * change of format fails here. A deliberate one bumps the format's version and makes new files
 * (keeping a reader, or a refusal naming the version, for the old ones).
 */
class GoldenFormatsTest {
  private static final Weights WEIGHTS =
      new Weights(
          List.of(
              new Weights.NamedArray(
                  "dense_1/kernel",
                  new int[] {4, 2},
                  new float[] {0.5f, -1.25f, 2f, 0f, -0.125f, 3.5f, 1e-3f, -7f}),
              new Weights.NamedArray("dense_1/bias", new int[] {2}, new float[] {0.25f, -0.75f})));
  private static final Weights TRAINED =
      new Weights(
          List.of(
              new Weights.NamedArray(
                  "dense_1/kernel",
                  new int[] {4, 2},
                  new float[] {0.6f, -1.2f, 2.1f, 0.1f, -0.1f, 3.4f, 0f, -6.9f}),
              new Weights.NamedArray("dense_1/bias", new int[] {2}, new float[] {0.3f, -0.8f})));
  private static final RoundConfig CONFIG =
      RoundConfig.of(3, new LocalTraining(2, 16, 0.05, 0.01, 1234))
          .withUpdateEncoding(UpdateEncoding.QUANTIZED_8BIT)
          .withClipNorm(1.5);

  private static Path golden(String name) {
    try {
      return Path.of(GoldenFormatsTest.class.getResource("/golden/" + name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] bytes(String name) throws IOException {
    return Files.readAllBytes(golden(name));
  }

  @Test
  void weightsFormatVersion1() throws IOException {
    assertThat(WeightsCodec.decode(bytes("weights-v1.bin"))).isEqualTo(WEIGHTS);
    assertThat(WeightsCodec.encode(WEIGHTS)).isEqualTo(bytes("weights-v1.bin"));
  }

  @Test
  void wireMessagesVersion3() throws IOException {
    Messages.Request fit = Messages.decodeRequest(bytes("fit-request-v3.bin"));
    assertThat(fit.evaluate()).isFalse();
    assertThat(fit.config()).isEqualTo(CONFIG);
    assertThat(fit.weights()).isEqualTo(WEIGHTS);
    assertThat(Messages.encodeFit(CONFIG, WEIGHTS)).isEqualTo(bytes("fit-request-v3.bin"));
    RoundConfig evaluate = RoundConfig.of(3, new LocalTraining(1, 8, 0.1, 0, 7));
    assertThat(Messages.decodeRequest(bytes("evaluate-request-v3.bin")).config())
        .isEqualTo(evaluate);
    assertThat(Messages.encodeEvaluate(evaluate, WEIGHTS))
        .isEqualTo(bytes("evaluate-request-v3.bin"));

    ClientUpdate update = new ClientUpdate("site-007", TRAINED, 321, 0.75, 0.5);
    assertThat(Messages.decodeUpdate(bytes("update-v3.bin"), WEIGHTS)).isEqualTo(update);
    assertThat(Messages.encode(update)).isEqualTo(bytes("update-v3.bin"));
    byte[] quantized = bytes("update-quantized-v3.bin");
    assertThat(Messages.encode(update, fit)).isEqualTo(quantized);
    ClientUpdate dequantized = Messages.decodeUpdate(quantized, WEIGHTS);
    assertThat(dequantized.numExamples()).isEqualTo(321);
    float[] k = dequantized.weights().arrays().get(0).values();
    // within one step of the 8-bit grid: (max − min) / 255 of the kernel's delta
    assertThat(k[7]).isCloseTo(-6.9f, org.assertj.core.data.Offset.offset(0.3f / 255 + 1e-6f));

    ClientEvaluation evaluation = Messages.decodeEvaluation(bytes("evaluation-v3.bin"));
    assertThat(evaluation.clientId()).isEqualTo("site-007");
    assertThat(evaluation.confusion().counts()).isEqualTo(new long[][] {{2, 1}, {0, 2}});
    assertThat(Messages.encode(evaluation)).isEqualTo(bytes("evaluation-v3.bin"));
  }

  @Test
  void checkpointFormat1() throws IOException {
    Checkpoint c = new CheckpointStore(golden("checkpoints"), 3).load("round-000001");
    assertThat(c.provenance().settings())
        .containsEntry("strategy.aggregator", "FedAvgM(eta=1.0, beta=0.9)");
    assertThat(c.provenance().sites()).containsExactly("site-007", "site-008");
    assertThat(c.history().finalWeights()).isEqualTo(WEIGHTS);
    assertThat(c.history().rounds())
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.failures())
                  .singleElement()
                  .asString()
                  .isEqualTo("site-008: no answer within 600.0 s");
              assertThat(r.test().orElseThrow().accuracy()).isEqualTo(0.8);
            });
    // Format 1 kept the state by position and recorded no run.
    assertThat(c.runId()).isEmpty();
    assertThat(c.history().strategyState().positional().orElseThrow())
        .hasSize(2)
        .last()
        .satisfies(a -> assertThat(a).containsExactly(0.125, 0.375));
  }

  @Test
  void checkpointFormat2(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
    Checkpoint c = new CheckpointStore(golden("checkpoints-v2"), 3).load("round-000001");
    assertThat(c.runId()).isEqualTo("0123456789abcdef0123456789abcdef");
    assertThat(c.provenance().sites()).containsExactly("site-007", "site-008");
    assertThat(c.history().finalWeights()).isEqualTo(WEIGHTS);
    // The state by name: FedAvgM's velocity and a scalar.
    StrategyState state = c.history().strategyState();
    assertThat(state.arrays().keySet()).containsExactly("velocity.0", "velocity.1");
    assertThat(state.array("velocity.1").orElseThrow()).containsExactly(0.125, 0.375);
    assertThat(state.scalar("dp.draws")).hasValue(12);
    // Today's writer makes the same bytes.
    new CheckpointStore(dir, 3).save(c);
    for (String part :
        List.of("manifest.json", "provenance.json", "history.json", "weights.bin", "state.bin")) {
      assertThat(Files.readAllBytes(dir.resolve("round-000001").resolve(part)))
          .as(part)
          .isEqualTo(bytes("checkpoints-v2/round-000001/" + part));
    }
  }

  @Test
  void savedModelsOfThisAndOfTheEarlierRecordFormat() throws IOException {
    ModelDirectory model = ModelDirectory.read(golden("model"));
    assertThat(model.weights()).isEqualTo(WEIGHTS);
    assertThat(model.record().provenance().data()).isEqualTo("golden/train");
    assertThat(model.record().test().orElseThrow().accuracy()).isEqualTo(0.8);
    // A model saved before provenance records still loads, and says so.
    ModelDirectory legacy = ModelDirectory.read(golden("legacy-model"));
    assertThat(legacy.weights()).isEqualTo(WEIGHTS);
    assertThat(legacy.record().provenance().kind()).isEqualTo("saved before provenance records");
    assertThat(legacy.record().provenance().data()).isEqualTo("mnist/train");
    assertThat(legacy.record().epochs())
        .singleElement()
        .satisfies(e -> assertThat(e.validationAccuracy()).isEqualTo(0.97));
  }
}
