package io.mnistfl.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class WeightsCodecTest {

  private static Weights sample() {
    float[] odd = {
      0f,
      -0f,
      Float.MIN_VALUE,
      Float.MAX_VALUE,
      Float.NEGATIVE_INFINITY,
      Float.intBitsToFloat(0x7fc00001),
      1.1f,
      -3.5e-12f
    };
    return new Weights(
        List.of(
            new Weights.NamedArray("conv2d_0/kernel", new int[] {2, 2, 1, 2}, odd),
            new Weights.NamedArray("dense_1/bias", new int[] {3}, new float[] {1, 2, 3}),
            new Weights.NamedArray("scalar", new int[0], new float[] {42})));
  }

  @Test
  void roundTripIsBitExact() throws Exception {
    Weights w = sample();
    Weights back = WeightsCodec.decode(WeightsCodec.encode(w));
    assertThat(back).isEqualTo(w);
    for (int i = 0; i < w.arrays().size(); i++) {
      float[] a = w.arrays().get(i).values();
      float[] b = back.arrays().get(i).values();
      for (int j = 0; j < a.length; j++) {
        assertThat(Float.floatToRawIntBits(b[j])).isEqualTo(Float.floatToRawIntBits(a[j]));
      }
    }
    assertThat(back.arrays().get(0).shape()).containsExactly(2, 2, 1, 2);
  }

  @Test
  void baselineWeightsRoundTrip() throws Exception {
    Weights w = ModelSpec.baseline().initialWeights();
    byte[] bytes = WeightsCodec.encode(w);
    assertThat(bytes.length).isGreaterThan(4 * 542_230);
    assertThat(WeightsCodec.decode(bytes)).isEqualTo(w);
  }

  @Test
  void aFlippedBitIsCaughtByTheChecksum() {
    byte[] bytes = WeightsCodec.encode(sample());
    bytes[40] ^= 0x10;
    assertThatThrownBy(() -> WeightsCodec.decode(bytes))
        .isInstanceOf(WeightsFormatException.class)
        .hasMessageContaining("checksum mismatch");
  }

  @Test
  void truncationIsReported() {
    byte[] bytes = WeightsCodec.encode(sample());
    assertThatThrownBy(() -> WeightsCodec.decode(Arrays.copyOf(bytes, 10)))
        .hasMessage("weights message too short: 10 bytes, at least 14 expected");
    assertThatThrownBy(() -> WeightsCodec.decode(Arrays.copyOf(bytes, bytes.length - 8)))
        .isInstanceOf(WeightsFormatException.class);
  }

  @Test
  void foreignBytesAndFutureVersionsAreRejected() {
    byte[] bytes = WeightsCodec.encode(sample());
    byte[] foreign = bytes.clone();
    foreign[0] = 'X';
    assertThatThrownBy(() -> WeightsCodec.decode(foreign))
        .hasMessageContaining("magic bytes are not \"MFLW\"");
    byte[] future = bytes.clone();
    future[4] = 2;
    assertThatThrownBy(() -> WeightsCodec.decode(future))
        .hasMessageContaining("weights format version 2 is not supported");
  }

  @Test
  void layoutMismatchNamesTheArray() {
    Weights w = sample();
    Weights other =
        new Weights(
            List.of(
                w.arrays().get(0),
                new Weights.NamedArray("dense_1/bias", new int[] {4}, new float[4]),
                w.arrays().get(2)));
    assertThatThrownBy(() -> w.requireSameLayout(other, "client-7"))
        .hasMessage("client-7: array 1 is dense_1/bias[4], expected dense_1/bias[3]");
  }

  @Test
  void shapeMustMatchValueCount() {
    assertThatThrownBy(() -> new Weights.NamedArray("k", new int[] {2, 3}, new float[5]))
        .hasMessage("k: shape [2, 3] needs 6 values, got 5");
  }

  /** A weights message with one array of {@code shape} and {@code values} values, CRC fixed. */
  private static byte[] withShape(int[] shape, int values) {
    java.nio.ByteBuffer b =
        java.nio.ByteBuffer.allocate(4 + 2 + 4 + 2 + 1 + 1 + 4 * shape.length + 4 * values + 4)
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.putInt(0x574C464D)
        .putShort((short) 1)
        .putInt(1)
        .putShort((short) 1)
        .put((byte) 'w')
        .put((byte) shape.length);
    for (int d : shape) {
      b.putInt(d);
    }
    b.position(b.position() + 4 * values);
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(b.array(), 0, b.position());
    b.putInt((int) crc.getValue());
    return b.array();
  }

  @Test
  void shapeProductsThatOverflowAreRefused() {
    // Both were found by hand at 8822bcc: the first threw NegativeArraySizeException, the
    // second (65536^4 wraps to 0) was accepted with no values.
    assertThatThrownBy(() -> WeightsCodec.decode(withShape(new int[] {2147483647, 2147483646}, 0)))
        .isInstanceOf(WeightsFormatException.class)
        .hasMessage("array 0 (w) declares 4611686011984936962 values but only 0 remain");
    assertThatThrownBy(
            () -> WeightsCodec.decode(withShape(new int[] {65536, 65536, 65536, 65536}, 0)))
        .isInstanceOf(WeightsFormatException.class)
        .hasMessage("array 0: the product of its dimensions overflows");
  }

  @Test
  void shapesMustMatchTheValuesPresent() throws Exception {
    assertThat(WeightsCodec.decode(withShape(new int[] {2, 3}, 6)).arrays().get(0).shape())
        .containsExactly(2, 3);
    assertThatThrownBy(() -> WeightsCodec.decode(withShape(new int[] {2, 3}, 5)))
        .isInstanceOf(WeightsFormatException.class)
        .hasMessage("array 0 (w) declares 6 values but only 5 remain");
    assertThatThrownBy(() -> WeightsCodec.decode(withShape(new int[] {2, 3}, 7)))
        .isInstanceOf(WeightsFormatException.class)
        .hasMessage("4 unexpected bytes after the arrays");
  }
}
