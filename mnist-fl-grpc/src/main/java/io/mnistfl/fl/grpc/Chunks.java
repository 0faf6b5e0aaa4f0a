package io.mnistfl.fl.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.WeightsCodec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Payloads cut into chunks of at most one gRPC message, and put together again with every size
 * checked: the declared total against a cap before anything is allocated, each chunk against what
 * remains of it.
 */
final class Chunks {
  /** Bytes of payload per message. */
  static final int SIZE = 1 << 20;

  /** The largest gRPC message either side accepts: a chunk and its envelope. */
  static final int MAX_MESSAGE = SIZE + (64 << 10);

  private Chunks() {}

  /**
   * The largest payload either side takes for {@code spec}'s model: its full weights in the
   * library's format, plus room for the rest of a message.
   */
  static long payloadCap(ModelSpec spec) {
    return (long) WeightsCodec.encode(spec.initialWeights()).length + (1 << 20);
  }

  /**
   * {@code payload} in chunks of {@link #SIZE}; one empty chunk for an empty payload. The chunks
   * are views of {@code payload}, not copies: a request is sent to every site of a round, and no
   * payload is changed once encoded (a site checks a request against its SHA-256 all the same).
   */
  static List<ByteString> split(byte[] payload) {
    List<ByteString> chunks = new ArrayList<>();
    for (int from = 0; from < payload.length || chunks.isEmpty(); from += SIZE) {
      chunks.add(
          UnsafeByteOperations.unsafeWrap(payload, from, Math.min(SIZE, payload.length - from)));
    }
    return chunks;
  }

  /** One payload being put together from its chunks. */
  static final class Assembler {
    private final String what;
    private final byte[] buffer;
    private int filled;

    /**
     * A payload of {@code declared} bytes.
     *
     * @throws IOException when the declared size is negative or above {@code cap}
     */
    Assembler(long declared, long cap, String what) throws IOException {
      if (declared < 0 || declared > cap) {
        throw new IOException(what + " declares " + declared + " bytes, above the cap of " + cap);
      }
      this.what = what;
      this.buffer = new byte[(int) declared];
    }

    /**
     * Adds a chunk; returns the whole payload after the last one.
     *
     * @throws IOException when the chunks exceed or fall short of the declared size
     */
    byte[] add(ByteString data, boolean last) throws IOException {
      if (data.size() > buffer.length - filled) {
        throw new IOException(what + ": chunks exceed the declared " + buffer.length + " bytes");
      }
      data.copyTo(buffer, filled);
      filled += data.size();
      if (last && filled != buffer.length) {
        throw new IOException(
            what + ": " + filled + " of the declared " + buffer.length + " bytes arrived");
      }
      return last ? buffer : null;
    }
  }
}
