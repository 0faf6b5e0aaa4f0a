package io.mnistfl.model;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.mnistfl.testing.Fuzzing;

/**
 * Fuzz target for {@link WeightsCodec}, as bytes arrive (mostly stopped by the checksum) and with
 * their checksum made valid (to reach the parser behind it). Seeds in {@code
 * src/test/resources/io/mnistfl/model/WeightsCodecFuzzTestInputs/}.
 */
class WeightsCodecFuzzTest {

  @FuzzTest
  void decode(byte[] bytes) {
    // Decoded values are at most the bytes present: the copy, its floats and the names.
    long cap = 4L * bytes.length;
    Fuzzing.expectOnly(cap, () -> WeightsCodec.decode(bytes), WeightsFormatException.class);
    Fuzzing.expectOnly(
        cap, () -> WeightsCodec.decode(Fuzzing.withValidCrc(bytes)), WeightsFormatException.class);
  }
}
