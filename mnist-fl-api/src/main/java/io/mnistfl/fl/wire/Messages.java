package io.mnistfl.fl.wire;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.fl.UpdateEncoding;
import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.model.Weights;
import io.mnistfl.model.WeightsCodec;
import io.mnistfl.model.WeightsFormatException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The versioned byte format of a round's requests and answers, inside a {@link Frame} (version 3).
 * Bodies:
 *
 * <pre>
 *   fit request      "MFLQ": config (u16 length + UTF-8 JSON of the {@link RoundConfig}),
 *                            weights (u32 length + {@link WeightsCodec} bytes)
 *   evaluate request "MFLV": the same
 *   update           "MFLU": siteId (u16 length + UTF-8), numExamples i32, trainLoss f64,
 *                            trainAccuracy f64, weights (u32 length + WeightsCodec bytes)
 *   update           "MFLD": siteId, numExamples i32, trainLoss f64, trainAccuracy f64, arrays u32,
 *                            per array (in the global weights' order): values u32, min f32,
 *                            max f32, values × u8 q; value = global + min + q·(max − min)/255
 *   evaluation       "MFLE": siteId, numExamples i32, loss f64, classes u16, classes² × i64
 *                            counts (row = actual class)
 * </pre>
 *
 * The config travels as JSON so that a new setting needs no change here; a reader refuses unknown
 * or missing fields, since a site cannot honour a setting it does not know.
 */
public final class Messages {
  /** Kind of a fit request. */
  public static final String FIT = "MFLQ";

  /** Kind of an evaluate request. */
  public static final String EVALUATE = "MFLV";

  private static final String UPDATE = "MFLU";
  private static final String QUANTIZED_UPDATE = "MFLD";
  private static final String EVALUATION = "MFLE";

  private static final ObjectMapper CONFIG =
      new ObjectMapper()
          .registerModule(new Jdk8Module())
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

  private Messages() {}

  /**
   * A decoded request.
   *
   * @param evaluate true for an evaluate request, false for a fit request
   * @param config what the site is asked to do
   * @param weights the weights to start from or to evaluate
   */
  public record Request(boolean evaluate, RoundConfig config, Weights weights) {}

  /**
   * Encodes a fit request.
   *
   * @param config what the site is asked to do
   * @param weights the weights to start from
   * @return the message
   */
  public static byte[] encodeFit(RoundConfig config, Weights weights) {
    return encodeRequest(FIT, config, weights);
  }

  /**
   * Encodes an evaluate request.
   *
   * @param config the round the evaluation belongs to
   * @param weights the weights to evaluate
   * @return the message
   */
  public static byte[] encodeEvaluate(RoundConfig config, Weights weights) {
    return encodeRequest(EVALUATE, config, weights);
  }

  private static byte[] encodeRequest(String kind, RoundConfig config, Weights weights) {
    byte[] json;
    try {
      json = CONFIG.writeValueAsBytes(config);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write " + config + " as JSON", e);
    }
    byte[] w = WeightsCodec.encode(weights);
    ByteBuffer b = Frame.start(kind, 2 + json.length + 4 + w.length);
    b.putShort((short) json.length).put(json).putInt(w.length).put(w);
    return Frame.finish(b);
  }

  /**
   * Decodes a fit or an evaluate request.
   *
   * @param bytes the message
   * @return the request
   * @throws MessageFormatException when the message is malformed
   */
  public static Request decodeRequest(byte[] bytes) throws MessageFormatException {
    boolean evaluate = Frame.kind(bytes).filter(EVALUATE::equals).isPresent();
    ByteBuffer b = Frame.open(bytes, evaluate ? EVALUATE : FIT, "request");
    try {
      byte[] json = new byte[Short.toUnsignedInt(b.getShort())];
      if (json.length > b.remaining()) {
        throw new MessageFormatException(
            "request: config length "
                + json.length
                + " exceeds the "
                + b.remaining()
                + " bytes left");
      }
      b.get(json);
      RoundConfig config;
      try {
        config = CONFIG.readValue(json, RoundConfig.class);
      } catch (java.io.IOException e) {
        throw new MessageFormatException(
            "request: malformed config (" + firstLine(e.getMessage()) + ")");
      }
      Weights weights = weights(b, "request");
      Frame.end(b, "request");
      return new Request(evaluate, config, weights);
    } catch (BufferUnderflowException | IllegalArgumentException e) {
      throw new MessageFormatException("malformed request: " + reason(e));
    }
  }

  /**
   * Encodes a site's answer to {@code request} in the encoding the request asks for.
   *
   * @param u the site's update
   * @param request the request it answers
   * @return the message
   */
  public static byte[] encode(ClientUpdate u, Request request) {
    return switch (request.config().updateEncoding()) {
      case FULL -> encode(u);
      case QUANTIZED_8BIT ->
          encodeQuantized(
              u,
              request.weights(),
              new SplittableRandom(
                  request.config().training().seed() * 31 + u.clientId().hashCode()));
    };
  }

  private static byte[] encodeQuantized(ClientUpdate u, Weights global, SplittableRandom random) {
    global.requireSameLayout(u.weights(), "update");
    int body = Frame.stringSize(u.clientId()) + 4 + 8 + 8 + 4;
    for (Weights.NamedArray a : global.arrays()) {
      body += 4 + 4 + 4 + a.values().length;
    }
    ByteBuffer b = Frame.start(QUANTIZED_UPDATE, body);
    Frame.putString(b, u.clientId());
    b.putInt(u.numExamples())
        .putDouble(u.trainLoss())
        .putDouble(u.trainAccuracy())
        .putInt(global.arrays().size());
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
    return Frame.finish(b);
  }

  /**
   * Encodes a site's update in full.
   *
   * @param u the site's update
   * @return the message
   */
  public static byte[] encode(ClientUpdate u) {
    byte[] w = WeightsCodec.encode(u.weights());
    ByteBuffer b = Frame.start(UPDATE, Frame.stringSize(u.clientId()) + 4 + 8 + 8 + 4 + w.length);
    Frame.putString(b, u.clientId());
    b.putInt(u.numExamples())
        .putDouble(u.trainLoss())
        .putDouble(u.trainAccuracy())
        .putInt(w.length)
        .put(w);
    return Frame.finish(b);
  }

  /**
   * Encodes a site's evaluation.
   *
   * @param e the site's evaluation
   * @return the message
   */
  public static byte[] encode(ClientEvaluation e) {
    int k = e.confusion().numClasses();
    ByteBuffer b = Frame.start(EVALUATION, Frame.stringSize(e.clientId()) + 4 + 8 + 2 + 8 * k * k);
    Frame.putString(b, e.clientId());
    b.putInt(e.numExamples()).putDouble(e.loss()).putShort((short) k);
    for (int a = 0; a < k; a++) {
      for (int p = 0; p < k; p++) {
        b.putLong(e.confusion().count(a, p));
      }
    }
    return Frame.finish(b);
  }

  /**
   * Decodes an update in either encoding; a {@link UpdateEncoding#QUANTIZED_8BIT quantized} one is
   * a difference from {@code global}, the weights of the request it answers.
   *
   * @param bytes the message
   * @param global the weights of the request it answers
   * @return the update
   * @throws MessageFormatException when the message is malformed or does not fit {@code global}
   */
  public static ClientUpdate decodeUpdate(byte[] bytes, Weights global)
      throws MessageFormatException {
    boolean quantized = Frame.kind(bytes).filter(QUANTIZED_UPDATE::equals).isPresent();
    ByteBuffer b = Frame.open(bytes, quantized ? QUANTIZED_UPDATE : UPDATE, "update");
    try {
      String id = Frame.getString(b);
      int n = b.getInt();
      double loss = b.getDouble();
      double accuracy = b.getDouble();
      String what = (quantized ? "quantized update from " : "update from ") + id;
      Weights weights = quantized ? dequantize(b, global, what) : weights(b, what);
      Frame.end(b, what);
      return new ClientUpdate(id, weights, n, loss, accuracy);
    } catch (BufferUnderflowException | IllegalArgumentException e) {
      throw new MessageFormatException("malformed update: " + reason(e));
    }
  }

  private static Weights dequantize(ByteBuffer b, Weights global, String what)
      throws MessageFormatException {
    int count = b.getInt();
    if (count != global.arrays().size()) {
      throw new MessageFormatException(
          what + ": " + count + " arrays, the global weights have " + global.arrays().size());
    }
    List<Weights.NamedArray> arrays = new ArrayList<>(count);
    for (Weights.NamedArray ga : global.arrays()) {
      int values = b.getInt();
      float min = b.getFloat();
      float max = b.getFloat();
      if (values != ga.values().length) {
        throw new MessageFormatException(
            what
                + ": array "
                + ga.name()
                + " has "
                + values
                + " values, the global weights "
                + ga.values().length);
      }
      if (!(Float.isFinite(min) && Float.isFinite(max) && min <= max)) {
        throw new MessageFormatException(
            what + ": array " + ga.name() + " has range [" + min + ", " + max + "]");
      }
      if (values > b.remaining()) {
        throw new BufferUnderflowException();
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

  /**
   * Decodes an evaluation; its counts are checked against the bytes before allocating.
   *
   * @param bytes the message
   * @return the evaluation
   * @throws MessageFormatException when the message is malformed
   */
  public static ClientEvaluation decodeEvaluation(byte[] bytes) throws MessageFormatException {
    ByteBuffer b = Frame.open(bytes, EVALUATION, "evaluation");
    try {
      String id = Frame.getString(b);
      int n = b.getInt();
      double loss = b.getDouble();
      int k = Short.toUnsignedInt(b.getShort());
      if ((long) k * k * Long.BYTES != b.remaining()) {
        throw new MessageFormatException(
            "evaluation from "
                + id
                + ": "
                + k
                + " classes need "
                + (long) k * k * Long.BYTES
                + " bytes of counts, "
                + b.remaining()
                + " remain");
      }
      long[][] counts = new long[k][k];
      for (int a = 0; a < k; a++) {
        for (int p = 0; p < k; p++) {
          counts[a][p] = b.getLong();
        }
      }
      return new ClientEvaluation(id, n, loss, ConfusionMatrix.fromCounts(counts));
    } catch (BufferUnderflowException | IllegalArgumentException e) {
      throw new MessageFormatException("malformed evaluation: " + reason(e));
    }
  }

  private static String reason(RuntimeException e) {
    return e instanceof BufferUnderflowException ? "truncated body" : e.getMessage();
  }

  private static String firstLine(String s) {
    return s == null ? "" : s.lines().findFirst().orElse("");
  }

  private static Weights weights(ByteBuffer b, String what) throws MessageFormatException {
    byte[] w = Frame.getBytes(b, what + ": weights");
    try {
      return WeightsCodec.decode(w);
    } catch (WeightsFormatException e) {
      throw new MessageFormatException(what + ": " + e.getMessage());
    }
  }
}
