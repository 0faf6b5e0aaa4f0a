package io.mnistfl.fl;

import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.model.Weights;
import io.mnistfl.model.WeightsCodec;
import io.mnistfl.model.WeightsFormatException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;

/**
 * The versioned byte format of everything a {@link Transport} carries. Version 2, little-endian;
 * every message is {@code magic(4) version(u16) body crc32c(u32)}, the CRC over all bytes before
 * it. Bodies:
 *
 * <pre>
 *   request  "MFLQ": round i32, localEpochs i32, batchSize i32, learningRate f64, proximalMu f64,
 *                    seed i64, updateEncoding u8 (0 full, 1 quantized),
 *                    weights (u32 length + {@link WeightsCodec} bytes)
 *   update   "MFLU": clientId (u16 length + UTF-8), numExamples i32, trainLoss f64,
 *                    trainAccuracy f64, weights (u32 length + WeightsCodec bytes)
 *   update   "MFLD": clientId, numExamples i32, trainLoss f64, trainAccuracy f64, arrays u32,
 *                    per array (in the global weights' order): values u32, min f32, max f32,
 *                    values × u8 q; value = global + min + q·(max − min)/255
 *   eval     "MFLE": clientId, numExamples i32, loss f64, classes u16, classes² × i64 counts
 *                    (row = actual class)
 * </pre>
 */
public final class Messages {
  /** The version written. */
  public static final int VERSION = 2;

  private static final int REQUEST = magic("MFLQ");
  private static final int UPDATE = magic("MFLU");
  private static final int QUANTIZED_UPDATE = magic("MFLD");
  private static final int EVALUATION = magic("MFLE");

  private Messages() {}

  /** A decoded request: round config and the weights to start from. */
  public record Request(RoundConfig config, Weights weights) {}

  /** Encodes a fit or evaluate request. */
  public static byte[] encodeRequest(RoundConfig c, Weights weights) {
    byte[] w = WeightsCodec.encode(weights);
    ByteBuffer b = start(REQUEST, 4 * 3 + 8 * 3 + 1 + 4 + w.length);
    b.putInt(c.round()).putInt(c.localEpochs()).putInt(c.batchSize()).putDouble(c.learningRate())
        .putDouble(c.proximalMu()).putLong(c.seed()).put((byte) c.updateEncoding().ordinal())
        .putInt(w.length).put(w);
    return finish(b);
  }

  /** Encodes a client's answer to {@code request} in the encoding the request asks for. */
  public static byte[] encode(ClientUpdate u, Request request) {
    return switch (request.config().updateEncoding()) {
      case FULL -> encode(u);
      case QUANTIZED_8BIT -> encodeQuantized(u, request.weights(),
          new SplittableRandom(request.config().seed() * 31 + u.clientId().hashCode()));
    };
  }

  private static byte[] encodeQuantized(ClientUpdate u, Weights global, SplittableRandom random) {
    global.requireSameLayout(u.weights(), "update");
    byte[] id = u.clientId().getBytes(StandardCharsets.UTF_8);
    int body = 2 + id.length + 4 + 8 + 8 + 4;
    for (Weights.NamedArray a : global.arrays()) {
      body += 4 + 4 + 4 + a.values().length;
    }
    ByteBuffer b = start(QUANTIZED_UPDATE, body);
    b.putShort((short) id.length).put(id).putInt(u.numExamples()).putDouble(u.trainLoss())
        .putDouble(u.trainAccuracy()).putInt(global.arrays().size());
    for (int a = 0; a < global.arrays().size(); a++) {
      float[] g = global.arrays().get(a).values();
      float[] w = u.weights().arrays().get(a).values();
      float min = Float.POSITIVE_INFINITY;
      float max = Float.NEGATIVE_INFINITY;
      for (int i = 0; i < g.length; i++) {
        float d = w[i] - g[i];
        min = Math.min(min, d);
        max = Math.max(max, d);
      }
      if (g.length == 0) {
        min = 0;
        max = 0;
      }
      b.putInt(g.length).putFloat(min).putFloat(max);
      double step = ((double) max - min) / 255;
      for (int i = 0; i < g.length; i++) {
        double level = step == 0 ? 0 : ((double) w[i] - g[i] - min) / step;
        int q = (int) Math.floor(level + random.nextDouble());
        b.put((byte) Math.max(0, Math.min(255, q)));
      }
    }
    return finish(b);
  }

  /** Encodes a client's update. */
  public static byte[] encode(ClientUpdate u) {
    byte[] id = u.clientId().getBytes(StandardCharsets.UTF_8);
    byte[] w = WeightsCodec.encode(u.weights());
    ByteBuffer b = start(UPDATE, 2 + id.length + 4 + 8 + 8 + 4 + w.length);
    b.putShort((short) id.length).put(id).putInt(u.numExamples()).putDouble(u.trainLoss())
        .putDouble(u.trainAccuracy()).putInt(w.length).put(w);
    return finish(b);
  }

  /** Encodes a client's evaluation. */
  public static byte[] encode(ClientEvaluation e) {
    byte[] id = e.clientId().getBytes(StandardCharsets.UTF_8);
    int k = e.confusion().numClasses();
    ByteBuffer b = start(EVALUATION, 2 + id.length + 4 + 8 + 2 + 8 * k * k);
    b.putShort((short) id.length).put(id).putInt(e.numExamples()).putDouble(e.loss())
        .putShort((short) k);
    for (int a = 0; a < k; a++) {
      for (int p = 0; p < k; p++) {
        b.putLong(e.confusion().count(a, p));
      }
    }
    return finish(b);
  }

  /** Decodes a request. */
  public static Request decodeRequest(byte[] bytes) throws MessageFormatException {
    ByteBuffer b = open(bytes, REQUEST, "request");
    try {
      RoundConfig config = new RoundConfig(b.getInt(), b.getInt(), b.getInt(), b.getDouble(),
          b.getDouble(), b.getLong(), updateEncoding(b.get()));
      Weights weights = weights(b, "request");
      end(b, "request");
      return new Request(config, weights);
    } catch (BufferUnderflowException | IllegalArgumentException e) {
      throw new MessageFormatException("malformed request: " + reason(e));
    }
  }

  /**
   * Decodes an update in either encoding; a {@link UpdateEncoding#QUANTIZED_8BIT quantized} one
   * is a difference from {@code global}, the weights of the request it answers.
   */
  public static ClientUpdate decodeUpdate(byte[] bytes, Weights global)
      throws MessageFormatException {
    return decodeUpdate(bytes, Optional.of(global));
  }

  /** Decodes a {@link UpdateEncoding#FULL full} update. */
  public static ClientUpdate decodeUpdate(byte[] bytes) throws MessageFormatException {
    return decodeUpdate(bytes, Optional.empty());
  }

  private static ClientUpdate decodeUpdate(byte[] bytes, Optional<Weights> global)
      throws MessageFormatException {
    boolean quantized = bytes.length >= 4
        && ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getInt() == QUANTIZED_UPDATE;
    if (quantized && global.isEmpty()) {
      throw new MessageFormatException("a quantized update is decoded against the global"
          + " weights: use decodeUpdate(bytes, global)");
    }
    ByteBuffer b = open(bytes, quantized ? QUANTIZED_UPDATE : UPDATE, "update");
    try {
      String id = string(b);
      int n = b.getInt();
      double loss = b.getDouble();
      double accuracy = b.getDouble();
      String what = (quantized ? "quantized update from " : "update from ") + id;
      Weights weights = quantized ? dequantize(b, global.get(), what) : weights(b, what);
      end(b, what);
      return new ClientUpdate(id, weights, n, loss, accuracy);
    } catch (BufferUnderflowException | IllegalArgumentException e) {
      throw new MessageFormatException("malformed update: " + reason(e));
    }
  }

  private static Weights dequantize(ByteBuffer b, Weights global, String what)
      throws MessageFormatException {
    int count = b.getInt();
    if (count != global.arrays().size()) {
      throw new MessageFormatException(what + ": " + count + " arrays, the global weights have "
          + global.arrays().size());
    }
    List<Weights.NamedArray> arrays = new ArrayList<>(count);
    for (Weights.NamedArray ga : global.arrays()) {
      int values = b.getInt();
      float min = b.getFloat();
      float max = b.getFloat();
      if (values != ga.values().length) {
        throw new MessageFormatException(what + ": array " + ga.name() + " has " + values
            + " values, the global weights " + ga.values().length);
      }
      if (!(Float.isFinite(min) && Float.isFinite(max) && min <= max)) {
        throw new MessageFormatException(what + ": array " + ga.name() + " has range [" + min
            + ", " + max + "]");
      }
      double step = ((double) max - min) / 255;
      float[] g = ga.values();
      float[] v = new float[values];
      for (int i = 0; i < values; i++) {
        v[i] = (float) (g[i] + min + Byte.toUnsignedInt(b.get()) * step);
      }
      arrays.add(new Weights.NamedArray(ga.name(), ga.shape(), v));
    }
    return new Weights(arrays);
  }

  /** Decodes an evaluation. */
  public static ClientEvaluation decodeEvaluation(byte[] bytes) throws MessageFormatException {
    ByteBuffer b = open(bytes, EVALUATION, "evaluation");
    try {
      String id = string(b);
      int n = b.getInt();
      double loss = b.getDouble();
      int k = Short.toUnsignedInt(b.getShort());
      if ((long) k * k * Long.BYTES != b.remaining()) {
        throw new MessageFormatException("evaluation from " + id + ": " + k + " classes need "
            + (long) k * k * Long.BYTES + " bytes of counts, " + b.remaining() + " remain");
      }
      long[][] counts = new long[k][k];
      for (int a = 0; a < k; a++) {
        for (int p = 0; p < k; p++) {
          counts[a][p] = b.getLong();
        }
      }
      end(b, "evaluation from " + id);
      return new ClientEvaluation(id, n, loss, ConfusionMatrix.fromCounts(counts));
    } catch (BufferUnderflowException | IllegalArgumentException e) {
      throw new MessageFormatException("malformed evaluation: " + reason(e));
    }
  }

  private static UpdateEncoding updateEncoding(byte code) {
    UpdateEncoding[] all = UpdateEncoding.values();
    if (code < 0 || code >= all.length) {
      throw new IllegalArgumentException("unknown update encoding " + code);
    }
    return all[code];
  }

  private static String reason(RuntimeException e) {
    return e instanceof BufferUnderflowException ? "truncated body" : e.getMessage();
  }

  private static int magic(String s) {
    byte[] m = s.getBytes(StandardCharsets.US_ASCII);
    return ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).getInt();
  }

  private static ByteBuffer start(int magic, int body) {
    ByteBuffer b = ByteBuffer.allocate(4 + 2 + body + 4).order(ByteOrder.LITTLE_ENDIAN);
    return b.putInt(magic).putShort((short) VERSION);
  }

  private static byte[] finish(ByteBuffer b) {
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, b.position());
    b.putInt((int) crc.getValue());
    return b.array();
  }

  private static ByteBuffer open(byte[] bytes, int magic, String what)
      throws MessageFormatException {
    if (bytes.length < 10) {
      throw new MessageFormatException(what + " too short: " + bytes.length + " bytes");
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (b.getInt() != magic) {
      throw new MessageFormatException("not a " + what + " message (wrong magic bytes)");
    }
    int version = Short.toUnsignedInt(b.getShort());
    if (version != VERSION) {
      throw new MessageFormatException(what + " format version " + version
          + " is not supported (this reader knows " + VERSION + ")");
    }
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, bytes.length - 4);
    int stored = ByteBuffer.wrap(bytes, bytes.length - 4, 4).order(ByteOrder.LITTLE_ENDIAN)
        .getInt();
    if (stored != (int) crc.getValue()) {
      throw new MessageFormatException(what + " checksum mismatch (corrupted in transit)");
    }
    return b.limit(bytes.length - 4);
  }

  private static String string(ByteBuffer b) {
    byte[] s = new byte[Short.toUnsignedInt(b.getShort())];
    b.get(s);
    return new String(s, StandardCharsets.UTF_8);
  }

  private static Weights weights(ByteBuffer b, String what) throws MessageFormatException {
    int length = b.getInt();
    if (length < 0 || length > b.remaining()) {
      throw new MessageFormatException(what + ": weights length " + length + " exceeds the "
          + b.remaining() + " bytes left");
    }
    byte[] w = new byte[length];
    b.get(w);
    try {
      return WeightsCodec.decode(w);
    } catch (WeightsFormatException e) {
      throw new MessageFormatException(what + ": " + e.getMessage());
    }
  }

  private static void end(ByteBuffer b, String what) throws MessageFormatException {
    if (b.hasRemaining()) {
      throw new MessageFormatException(what + ": " + b.remaining() + " unexpected trailing bytes");
    }
  }
}
