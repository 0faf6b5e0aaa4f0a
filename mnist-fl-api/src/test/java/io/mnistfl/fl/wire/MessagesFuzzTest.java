package io.mnistfl.fl.wire;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import io.mnistfl.testing.Fuzzing;

/**
 * Fuzz target for the wire messages a server or a site decodes: requests, updates in both encodings
 * and evaluations, with their checksum as it comes and made valid. Seeds in {@code
 * src/test/resources/io/mnistfl/fl/wire/MessagesFuzzTestInputs/}.
 */
class MessagesFuzzTest {
  private static final Weights GLOBAL =
      ModelSpec.builder()
          .input(4, 4)
          .numClasses(2)
          .conv(2, 3, io.mnistfl.model.Layer.Padding.VALID)
          .flatten()
          .logits(io.mnistfl.model.Initializer.GLOROT_UNIFORM)
          .build()
          .initialWeights();

  static {
    // One-time costs (Jackson's mapper, ~30 MB of class loading) are not an input's to pay.
    try {
      Messages.decodeRequest(
          Messages.encodeFit(
              io.mnistfl.fl.RoundConfig.of(1, new io.mnistfl.train.LocalTraining(1, 1, 0.1, 0, 0)),
              GLOBAL));
    } catch (MessageFormatException e) {
      throw new AssertionError(e);
    }
  }

  @FuzzTest
  void decode(byte[] bytes) {
    long cap = 6L * bytes.length;
    for (byte[] b : new byte[][] {bytes, Fuzzing.withValidCrc(bytes)}) {
      Fuzzing.expectOnly(cap, () -> Messages.decodeRequest(b), MessageFormatException.class);
      Fuzzing.expectOnly(cap, () -> Messages.decodeUpdate(b, GLOBAL), MessageFormatException.class);
      Fuzzing.expectOnly(cap, () -> Messages.decodeEvaluation(b), MessageFormatException.class);
    }
  }
}
