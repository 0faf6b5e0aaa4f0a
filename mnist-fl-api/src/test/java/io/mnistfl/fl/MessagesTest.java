package io.mnistfl.fl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class MessagesTest {
  private static final Weights W = ModelSpec.baseline().initialWeights();

  @Test
  void requestsRoundTrip() throws Exception {
    RoundConfig config = new RoundConfig(7, 5, 10, 0.05, 0.01, 99);
    Messages.Request r = Messages.decodeRequest(Messages.encodeRequest(config, W));
    assertThat(r.config()).isEqualTo(config);
    assertThat(r.weights()).isEqualTo(W);
  }

  @Test
  void updatesAndEvaluationsRoundTrip() throws Exception {
    ClientUpdate u = new ClientUpdate("client-042", W, 600, 0.12, 0.97);
    assertThat(Messages.decodeUpdate(Messages.encode(u))).isEqualTo(u);
    ClientEvaluation e = new ClientEvaluation("client-1", 3, 0.4,
        ConfusionMatrix.of(3, new int[] {0, 1, 2}, new int[] {0, 2, 2}));
    assertThat(Messages.decodeEvaluation(Messages.encode(e))).isEqualTo(e);
  }

  @Test
  void corruptionTruncationAndMixUpsAreNamed() {
    byte[] update = Messages.encode(new ClientUpdate("c", W, 1, 0, 0));
    byte[] flipped = update.clone();
    flipped[100] ^= 1;
    assertThatThrownBy(() -> Messages.decodeUpdate(flipped))
        .isInstanceOf(MessageFormatException.class).hasMessage("update checksum mismatch"
            + " (corrupted in transit)");
    assertThatThrownBy(() -> Messages.decodeUpdate(Arrays.copyOf(update, 5)))
        .hasMessage("update too short: 5 bytes");
    assertThatThrownBy(() -> Messages.decodeRequest(update))
        .hasMessage("not a request message (wrong magic bytes)");
  }
}
