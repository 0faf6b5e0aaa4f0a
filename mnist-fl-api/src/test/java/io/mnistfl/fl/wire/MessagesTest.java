package io.mnistfl.fl.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.fl.UpdateEncoding;
import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import io.mnistfl.train.LocalTraining;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MessagesTest {
  private static final Weights W = ModelSpec.baseline().initialWeights();

  @Test
  void requestsRoundTrip() throws Exception {
    RoundConfig config =
        RoundConfig.of(7, new LocalTraining(5, 10, 0.05, 0.01, 99))
            .withUpdateEncoding(UpdateEncoding.QUANTIZED_8BIT)
            .withClipNorm(2.5);
    Messages.Request r = Messages.decodeRequest(Messages.encodeFit(config, W));
    assertThat(r.config()).isEqualTo(config);
    assertThat(r.weights()).isEqualTo(W);
    assertThat(r.evaluate()).isFalse();
    assertThat(Messages.decodeRequest(Messages.encodeEvaluate(config, W)).evaluate()).isTrue();
  }

  /** A fit request whose config JSON is {@code json}, envelope and lengths valid. */
  private static byte[] withConfig(String json) {
    byte[] j = json.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] w = io.mnistfl.model.WeightsCodec.encode(W);
    java.nio.ByteBuffer b = Frame.start(Messages.FIT, 2 + j.length + 4 + w.length);
    b.putShort((short) j.length).put(j).putInt(w.length).put(w);
    return Frame.finish(b);
  }

  @Test
  void aConfigWithAnUnknownMissingOrOutOfRangeSettingIsRefused() {
    String good =
        "{\"round\":1,\"training\":{\"epochs\":1,\"batchSize\":10,"
            + "\"learningRate\":0.1,\"proximalMu\":0.0,\"seed\":3},\"updateEncoding\":\"FULL\","
            + "\"clipNorm\":null}";
    assertThat(
            org.assertj.core.api.Assertions.catchThrowable(
                () -> Messages.decodeRequest(withConfig(good))))
        .isNull();
    // A site cannot honour a setting it does not know.
    assertThatThrownBy(
            () ->
                Messages.decodeRequest(
                    withConfig(good.replace("\"seed\":3", "\"seed\":3,\"momentum\":0.9"))))
        .isInstanceOf(MessageFormatException.class)
        .hasMessageStartingWith("request: malformed config (Unrecognized field \"momentum\"");
    assertThatThrownBy(
            () -> Messages.decodeRequest(withConfig(good.replace("\"batchSize\":10,", ""))))
        .isInstanceOf(MessageFormatException.class)
        .hasMessageContaining("batchSize");
    assertThatThrownBy(
            () -> Messages.decodeRequest(withConfig(good.replace("\"epochs\":1", "\"epochs\":0"))))
        .isInstanceOf(MessageFormatException.class)
        .hasMessageContaining("epochs must be >= 1, was 0");
    assertThatThrownBy(() -> Messages.decodeRequest(withConfig("[[[[[[")))
        .isInstanceOf(MessageFormatException.class)
        .hasMessageStartingWith("request: malformed config");
  }

  @Test
  void anEvaluationDeclaringMoreCountsThanItCarriesIsRefusedBeforeAllocating() {
    // At 8822bcc this 29-byte answer allocated 65535² longs (34 GB) and crashed the server.
    java.nio.ByteBuffer b = Frame.start("MFLE", 2 + 3 + 4 + 8 + 2);
    Frame.putString(b, "abc");
    b.putInt(1).putDouble(0.1).putShort((short) 65535);
    byte[] evil = Frame.finish(b);
    assertThat(evil).hasSize(29);
    assertThatThrownBy(() -> Messages.decodeEvaluation(evil))
        .isInstanceOf(MessageFormatException.class)
        .hasMessage(
            "evaluation from abc: 65535 classes need 34358689800 bytes of counts, 0" + " remain");
  }

  /** W moved by a different random step per value, as local training would. */
  private static Weights trained(long seed) {
    Random random = new Random(seed);
    List<Weights.NamedArray> arrays = new ArrayList<>();
    for (Weights.NamedArray a : W.arrays()) {
      float[] v = a.values().clone();
      for (int i = 0; i < v.length; i++) {
        v[i] += (float) (0.01 * random.nextGaussian());
      }
      arrays.add(new Weights.NamedArray(a.name(), a.shape(), v));
    }
    return new Weights(arrays);
  }

  private static Messages.Request quantizedRequest(long seed) {
    return new Messages.Request(
        false,
        RoundConfig.of(1, new LocalTraining(1, 10, 0.1, 0, seed))
            .withUpdateEncoding(UpdateEncoding.QUANTIZED_8BIT),
        W);
  }

  @Test
  void quantizedUpdatesAreAQuarterOfTheSizeAndOffByAtMostOneStep() throws Exception {
    Weights mine = trained(3);
    ClientUpdate u = new ClientUpdate("client-7", mine, 600, 0.12, 0.97);
    byte[] full = Messages.encode(u);
    byte[] quantized = Messages.encode(u, quantizedRequest(1));
    assertThat((double) quantized.length / full.length).isBetween(0.25, 0.26);

    ClientUpdate back = Messages.decodeUpdate(quantized, W);
    assertThat(back.clientId()).isEqualTo("client-7");
    assertThat(back.numExamples()).isEqualTo(600);
    assertThat(back.trainLoss()).isEqualTo(0.12);
    W.requireSameLayout(back.weights(), "decoded");
    for (int a = 0; a < W.arrays().size(); a++) {
      float[] g = W.arrays().get(a).values();
      float[] w = mine.arrays().get(a).values();
      float[] d = back.weights().arrays().get(a).values();
      double min = Double.MAX_VALUE;
      double max = -Double.MAX_VALUE;
      for (int i = 0; i < g.length; i++) {
        min = Math.min(min, w[i] - g[i]);
        max = Math.max(max, w[i] - g[i]);
      }
      double step = (max - min) / 255;
      for (int i = 0; i < g.length; i++) {
        assertThat((double) d[i])
            .isCloseTo(w[i], org.assertj.core.api.Assertions.within(step * 1.001 + 1e-6));
      }
    }
    // an unchanged client comes back exactly
    assertThat(
            Messages.decodeUpdate(
                    Messages.encode(new ClientUpdate("c", W, 1, 0, 0), quantizedRequest(1)), W)
                .weights())
        .isEqualTo(W);
  }

  @Test
  void quantizationIsUnbiasedOverRounds() throws Exception {
    Weights mine = trained(5);
    float[] g = W.arrays().get(0).values();
    float[] w = mine.arrays().get(0).values();
    double[] mean = new double[g.length];
    int rounds = 400;
    for (int seed = 0; seed < rounds; seed++) {
      float[] d =
          Messages.decodeUpdate(
                  Messages.encode(new ClientUpdate("c", mine, 1, 0, 0), quantizedRequest(seed)), W)
              .weights()
              .arrays()
              .get(0)
              .values();
      for (int i = 0; i < g.length; i++) {
        mean[i] += (d[i] - (double) w[i]) / rounds;
      }
    }
    double meanAbsError = 0;
    for (double m : mean) {
      meanAbsError += Math.abs(m) / mean.length;
    }
    // One step is about 0.058 / 255 = 2.3e-4 here. Rounding to the nearest level would err by a
    // quarter step, 5.7e-5, on average, every round alike; rounding at random averages out to
    // about 4e-6 over 400 rounds (measured 3.4e-6).
    System.out.println("quantization: mean absolute error over 400 rounds " + meanAbsError);
    assertThat(meanAbsError).isLessThan(1e-5);
  }

  @Test
  void aQuantizedUpdateNeedsTheGlobalWeightsItWasMadeAgainst() {
    byte[] quantized =
        Messages.encode(new ClientUpdate("c9", trained(1), 1, 0, 0), quantizedRequest(1));
    Weights other = ModelSpec.mcmahanCnn().initialWeights();
    assertThatThrownBy(() -> Messages.decodeUpdate(quantized, other))
        .isInstanceOf(MessageFormatException.class)
        .hasMessage(
            "quantized update from c9: "
                + W.arrays().size()
                + " arrays, the global"
                + " weights have "
                + other.arrays().size());
  }

  @Test
  void updatesAndEvaluationsRoundTrip() throws Exception {
    ClientUpdate u = new ClientUpdate("client-042", W, 600, 0.12, 0.97);
    assertThat(Messages.decodeUpdate(Messages.encode(u), W)).isEqualTo(u);
    ClientEvaluation e =
        new ClientEvaluation(
            "client-1", 3, 0.4, ConfusionMatrix.of(3, new int[] {0, 1, 2}, new int[] {0, 2, 2}));
    assertThat(Messages.decodeEvaluation(Messages.encode(e))).isEqualTo(e);
  }

  @Test
  void corruptionTruncationAndMixUpsAreNamed() {
    byte[] update = Messages.encode(new ClientUpdate("c", W, 1, 0, 0));
    byte[] flipped = update.clone();
    flipped[100] ^= 1;
    assertThatThrownBy(() -> Messages.decodeUpdate(flipped, W))
        .isInstanceOf(MessageFormatException.class)
        .hasMessage("update checksum mismatch" + " (corrupted in transit)");
    assertThatThrownBy(() -> Messages.decodeUpdate(Arrays.copyOf(update, 5), W))
        .hasMessage("update too short: 5 bytes");
    assertThatThrownBy(() -> Messages.decodeRequest(update))
        .hasMessage("not a request message (kind MFLU, expected MFLQ)");
    byte[] old = update.clone();
    old[4] = 2;
    assertThatThrownBy(() -> Messages.decodeUpdate(old, W))
        .hasMessage("update format version 2 is not supported (this reader knows 3)");
  }
}
