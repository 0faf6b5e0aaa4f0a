package io.mnistfl.flower;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * One object of Flower's content-addressed store: the bytes {@code "<type> <child ids joined by
 * ','> <body length>"}, a zero byte, then the body; its id is the lowercase hex SHA-256 of all of
 * them. Bytes pulled from a SuperLink are checked against the id they were asked for and parsed
 * strictly; they are never re-encoded to recompute an id.
 *
 * @param type the object's type, e.g. {@code ArrayRecord}
 * @param children the ids of its children, each once, in first-use order
 * @param body the body
 */
record FlowerObject(Type type, List<String> children, byte[] body) {

  /** The object types a Fleet message is made of. */
  enum Type {
    /** The message: its metadata (and error) as protobuf; one child, its RecordDict. */
    Message,
    /** Record names to record ids, as JSON. */
    RecordDict,
    /** Array keys to array ids, as JSON. */
    ArrayRecord,
    /** An array's dtype, shape, stype and chunk indices, as JSON. */
    Array,
    /** A slice of an array's {@code .npy} bytes. */
    ArrayChunk,
    /** A protobuf ConfigRecord. */
    ConfigRecord,
    /** A protobuf MetricRecord. */
    MetricRecord
  }

  private static final Pattern ID = Pattern.compile("[0-9a-f]{64}");

  /** The longest head parsed: a type, a body length, and up to 1,024 child ids. */
  static final int MAX_HEAD_BYTES = 32 + 65 * 1024;

  FlowerObject {
    children = List.copyOf(children);
  }

  /** The object's bytes: head, zero byte, body. */
  byte[] bytes() {
    byte[] head =
        (type + " " + String.join(",", children) + " " + body.length)
            .getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[head.length + 1 + body.length];
    System.arraycopy(head, 0, out, 0, head.length);
    System.arraycopy(body, 0, out, head.length + 1, body.length);
    return out;
  }

  /** The lowercase hex SHA-256 of {@code bytes}. */
  static String id(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  }

  /** Whether {@code s} is an object id: 64 lowercase hex digits. */
  static boolean isId(String s) {
    return s.length() == 64 && ID.matcher(s).matches();
  }

  /**
   * Parses the bytes the SuperLink returned for {@code id}.
   *
   * @param id the id they were pulled as
   * @param bytes the object's bytes
   * @param maxChildren the most children an object in this position may have
   * @return the object
   * @throws InvalidMessageException naming the object when its hash, head or body length is wrong
   */
  static FlowerObject parse(String id, byte[] bytes, int maxChildren)
      throws InvalidMessageException {
    String actual = id(bytes);
    if (!actual.equals(id)) {
      throw new InvalidMessageException(
          "object " + id + " is corrupt: the SuperLink sent bytes whose SHA-256 is " + actual);
    }
    int zero = -1;
    for (int i = 0; i < Math.min(bytes.length, MAX_HEAD_BYTES); i++) {
      if (bytes[i] == 0) {
        zero = i;
        break;
      }
    }
    if (zero < 0) {
      throw new InvalidMessageException(
          "object " + id + " has no head (no zero byte in its first " + MAX_HEAD_BYTES + " bytes)");
    }
    String head = new String(bytes, 0, zero, StandardCharsets.UTF_8);
    String[] parts = head.split(" ", -1);
    if (parts.length != 3) {
      throw new InvalidMessageException(
          "object " + id + " has a malformed head: " + parts.length + " fields, expected 3");
    }
    Type type;
    try {
      type = Type.valueOf(parts[0]);
    } catch (IllegalArgumentException e) {
      throw new InvalidMessageException(
          "object " + id + " has unknown type '" + Text.printable(parts[0], 32) + "'");
    }
    List<String> children = new ArrayList<>();
    if (!parts[1].isEmpty()) {
      String[] ids = parts[1].split(",", -1);
      if (ids.length > maxChildren) {
        throw new InvalidMessageException(
            type
                + " object "
                + id
                + " lists "
                + ids.length
                + " children, at most "
                + maxChildren
                + " expected");
      }
      for (String child : ids) {
        if (!isId(child)) {
          throw new InvalidMessageException(
              "object "
                  + id
                  + " lists a child that is no object id: '"
                  + Text.printable(child, 70)
                  + "'");
        }
        if (children.contains(child)) {
          throw new InvalidMessageException("object " + id + " lists child " + child + " twice");
        }
        children.add(child);
      }
    }
    int bodyLength = bytes.length - zero - 1;
    if (!parts[2].equals(String.valueOf(bodyLength))) {
      throw new InvalidMessageException(
          "object "
              + id
              + " declares a body of '"
              + Text.printable(parts[2], 20)
              + "' bytes, it has "
              + bodyLength);
    }
    byte[] body = new byte[bodyLength];
    System.arraycopy(bytes, zero + 1, body, 0, bodyLength);
    return new FlowerObject(type, children, body);
  }
}
