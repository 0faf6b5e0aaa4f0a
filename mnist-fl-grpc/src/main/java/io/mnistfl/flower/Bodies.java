package io.mnistfl.flower;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The JSON bodies of Flower's RecordDict, ArrayRecord and Array objects: written as Python's {@code
 * json.dumps} writes them (so that the same content gets the same id as Flower's), read with a
 * strict, bounded parser.
 */
final class Bodies {
  /** The largest JSON body read: far above any model's ArrayRecord. */
  static final int MAX_JSON_BYTES = 1 << 16;

  /** The most dimensions an array may declare. */
  static final int MAX_RANK = 32;

  private static final JsonFactory JSON =
      JsonFactory.builder()
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNestingDepth(3)
                  .maxStringLength(MAX_JSON_BYTES)
                  .maxNumberLength(20)
                  .build())
          .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          .build();

  private Bodies() {}

  /** What an Array object's body says: dtype, shape, stype, and its chunks as head indices. */
  record ArrayMeta(String dtype, int[] shape, String stype, int[] chunkIndices) {}

  /** {@code {"name": "id", ...}} as {@code json.dumps} writes a dict of strings. */
  static byte[] refs(Map<String, String> refs) {
    StringBuilder s = new StringBuilder("{");
    for (Map.Entry<String, String> e : refs.entrySet()) {
      if (s.length() > 1) {
        s.append(", ");
      }
      quote(s, e.getKey()).append(": ");
      quote(s, e.getValue());
    }
    return s.append('}').toString().getBytes(StandardCharsets.US_ASCII);
  }

  /** A float32 array's body, with the chunks as indices into the head's child list. */
  static byte[] arrayMeta(int[] shape, int[] chunkIndices) {
    return ("{\"dtype\": \"float32\", \"shape\": "
            + list(shape)
            + ", \"stype\": \"numpy.ndarray\", \"arraychunk_ids\": "
            + list(chunkIndices)
            + "}")
        .getBytes(StandardCharsets.US_ASCII);
  }

  private static String list(int[] values) {
    return Arrays.toString(values);
  }

  /** Python's ensure_ascii quoting: only printable ASCII stays, the rest is escaped. */
  private static StringBuilder quote(StringBuilder s, String text) {
    s.append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      switch (c) {
        case '"' -> s.append("\\\"");
        case '\\' -> s.append("\\\\");
        case '\n' -> s.append("\\n");
        case '\r' -> s.append("\\r");
        case '\t' -> s.append("\\t");
        case '\b' -> s.append("\\b");
        case '\f' -> s.append("\\f");
        default -> {
          if (c < 0x20 || c > 0x7e) {
            s.append(String.format("\\u%04x", (int) c));
          } else {
            s.append(c);
          }
        }
      }
    }
    return s.append('"');
  }

  /**
   * A RecordDict's or ArrayRecord's names and ids, in order, each id one of the object's children.
   *
   * @param o the object
   * @param what names it in errors
   * @param maxEntries the most entries accepted
   */
  static LinkedHashMap<String, String> parseRefs(FlowerObject o, String what, int maxEntries)
      throws InvalidMessageException {
    checkSize(o, what);
    LinkedHashMap<String, String> refs = new LinkedHashMap<>();
    try (JsonParser p = JSON.createParser(o.body())) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new InvalidMessageException(what + ": body is not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        if (p.nextToken() != JsonToken.VALUE_STRING) {
          throw new InvalidMessageException(
              what + ": the value of '" + Text.printable(name, 64) + "' is not an object id");
        }
        String id = p.getText();
        if (!o.children().contains(id)) {
          throw new InvalidMessageException(
              what
                  + ": '"
                  + Text.printable(name, 64)
                  + "' refers to "
                  + Text.printable(id, 70)
                  + ", which its head does not list");
        }
        if (refs.size() == maxEntries) {
          throw new InvalidMessageException(what + ": more than " + maxEntries + " entries");
        }
        refs.put(name, id);
      }
      end(p, what);
    } catch (IOException e) {
      throw new InvalidMessageException(what + ": malformed JSON: " + Text.oneLine(e));
    }
    if (!refs.values().containsAll(o.children())) {
      throw new InvalidMessageException(what + ": its head lists children it does not use");
    }
    return refs;
  }

  /**
   * An Array object's metadata, each chunk index pointing into its head's child list.
   *
   * @param o the object
   * @param what names it in errors
   * @param maxChunks the most chunk references accepted
   */
  static ArrayMeta parseArrayMeta(FlowerObject o, String what, int maxChunks)
      throws InvalidMessageException {
    checkSize(o, what);
    String dtype = null;
    String stype = null;
    int[] shape = null;
    int[] chunks = null;
    try (JsonParser p = JSON.createParser(o.body())) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new InvalidMessageException(what + ": body is not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken value = p.nextToken();
        switch (name) {
          case "dtype" -> dtype = string(p, value, what, name);
          case "stype" -> stype = string(p, value, what, name);
          case "shape" -> shape = ints(p, value, what, name, MAX_RANK);
          case "arraychunk_ids" -> chunks = ints(p, value, what, name, maxChunks);
          default -> p.skipChildren(); // a later Flower may add fields; none matter here
        }
      }
      end(p, what);
    } catch (IOException e) {
      throw new InvalidMessageException(what + ": malformed JSON: " + Text.oneLine(e));
    }
    if (dtype == null || stype == null || shape == null || chunks == null) {
      throw new InvalidMessageException(
          what + ": lacks one of dtype, shape, stype, arraychunk_ids");
    }
    for (int c : chunks) {
      if (c >= o.children().size()) {
        throw new InvalidMessageException(
            what
                + ": chunk index "
                + c
                + " is beyond the "
                + o.children().size()
                + " chunks its head lists");
      }
    }
    return new ArrayMeta(dtype, shape, stype, chunks);
  }

  private static void checkSize(FlowerObject o, String what) throws InvalidMessageException {
    if (o.body().length > MAX_JSON_BYTES) {
      throw new InvalidMessageException(
          what + ": body of " + o.body().length + " bytes, at most " + MAX_JSON_BYTES);
    }
  }

  private static void end(JsonParser p, String what) throws IOException, InvalidMessageException {
    if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
      throw new InvalidMessageException(what + ": malformed JSON object");
    }
  }

  private static String string(JsonParser p, JsonToken t, String what, String field)
      throws IOException, InvalidMessageException {
    if (t != JsonToken.VALUE_STRING) {
      throw new InvalidMessageException(what + ": " + field + " is not a string");
    }
    return p.getText();
  }

  private static int[] ints(JsonParser p, JsonToken t, String what, String field, int max)
      throws IOException, InvalidMessageException {
    if (t != JsonToken.START_ARRAY) {
      throw new InvalidMessageException(what + ": " + field + " is not a list");
    }
    int[] out = new int[Math.min(max, 64)];
    int n = 0;
    while (p.nextToken() == JsonToken.VALUE_NUMBER_INT) {
      long v = p.getLongValue();
      if (v < 0 || v > Integer.MAX_VALUE) {
        throw new InvalidMessageException(what + ": " + field + " holds " + v);
      }
      if (n == max) {
        throw new InvalidMessageException(what + ": " + field + " has more than " + max + " items");
      }
      if (n == out.length) {
        out = Arrays.copyOf(out, Math.min(max, 2 * out.length));
      }
      out[n++] = (int) v;
    }
    if (p.currentToken() != JsonToken.END_ARRAY) {
      throw new InvalidMessageException(what + ": " + field + " holds something but integers");
    }
    return Arrays.copyOf(out, n);
  }
}
