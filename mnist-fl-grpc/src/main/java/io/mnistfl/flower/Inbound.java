package io.mnistfl.flower;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import flwr.proto.MessageOuterClass.Message;
import flwr.proto.MessageOuterClass.Metadata;
import flwr.proto.MessageOuterClass.ObjectTree;
import flwr.proto.Recorddict.ConfigRecord;
import flwr.proto.Recorddict.ConfigRecordValue;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Npy;
import io.mnistfl.model.ParameterShape;
import io.mnistfl.model.Weights;
import io.mnistfl.model.WeightsFormatException;
import java.io.ByteArrayOutputStream;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Pulls the objects of one message from the SuperLink and checks each against what the site knows
 * before it holds more: the object tree's size and shape, every object's hash, head and body, the
 * records a train or evaluate message has, and the ArrayRecord against the site's model (array
 * count, key order, dtype, shape, the bytes each array may take).
 */
final class Inbound {
  /** The most objects a message's tree may hold. */
  static final int MAX_TREE_NODES = 4096;

  /** Message, RecordDict, ArrayRecord, Array, ArrayChunk: the deepest a tree may go. */
  static final int MAX_TREE_DEPTH = 5;

  /** The most records a message's RecordDict may hold. */
  static final int MAX_RECORDS = 16;

  /** The most chunks one array may be split into. */
  static final int MAX_CHUNKS = 1024;

  /** The largest body of any object but an ArrayChunk. */
  static final int MAX_SMALL_BODY = 1 << 16;

  /** The most arrays an ArrayRecord may hold before it is compared with the model's. */
  static final int MAX_ARRAYS = 1024;

  /** The most items a ConfigRecord may hold. */
  static final int MAX_CONFIG_ITEMS = 256;

  /** Pulls one object's bytes from the SuperLink. */
  @FunctionalInterface
  interface Source {
    /**
     * The bytes of object {@code id}.
     *
     * @throws InvalidMessageException when the SuperLink does not have it
     */
    byte[] pull(String id) throws InvalidMessageException;
  }

  /**
   * What a train or evaluate message carries, as the site's model has it.
   *
   * @param arraysName the name of its ArrayRecord (FedAvg's {@code arrays})
   * @param keys the array keys as the ServerApp sent them, in order
   * @param weights the arrays under the model's names, in model order
   * @param config the items of its ConfigRecord, in order (empty when it has none)
   */
  record Content(
      String arraysName,
      List<String> keys,
      Weights weights,
      LinkedHashMap<String, ConfigRecordValue> config) {}

  private final ModelSpec spec;
  private final Source source;
  private final Map<String, ObjectTree> tree = new HashMap<>();

  private Inbound(ModelSpec spec, Source source) {
    this.spec = spec;
    this.source = source;
  }

  /**
   * Pulls and checks a message's content.
   *
   * @param metadata the message's metadata as PullMessages gave it
   * @param root its object tree
   * @param spec the site's model
   * @param source pulls objects
   * @return the content
   * @throws InvalidMessageException naming the first object, record, array or field that is wrong
   */
  static Content read(Metadata metadata, ObjectTree root, ModelSpec spec, Source source)
      throws InvalidMessageException {
    Inbound in = new Inbound(spec, source);
    in.index(root);
    if (!root.getObjectId().equals(metadata.getMessageId())) {
      throw new InvalidMessageException(
          "the message's id "
              + Text.printable(metadata.getMessageId(), 70)
              + " is not its object tree's root "
              + root.getObjectId());
    }
    return in.message(metadata);
  }

  /** Indexes the tree by id after checking its size, depth and ids. */
  private void index(ObjectTree root) throws InvalidMessageException {
    Deque<ObjectTree> todo = new ArrayDeque<>();
    Deque<Integer> depths = new ArrayDeque<>();
    todo.push(root);
    depths.push(1);
    int nodes = 0;
    while (!todo.isEmpty()) {
      ObjectTree t = todo.pop();
      int depth = depths.pop();
      if (++nodes > MAX_TREE_NODES) {
        throw new InvalidMessageException(
            "the message's object tree holds more than " + MAX_TREE_NODES + " objects");
      }
      if (depth > MAX_TREE_DEPTH) {
        throw new InvalidMessageException(
            "the message's object tree is deeper than " + MAX_TREE_DEPTH + " levels");
      }
      if (!FlowerObject.isId(t.getObjectId())) {
        throw new InvalidMessageException(
            "the message's object tree holds an invalid id '"
                + Text.printable(t.getObjectId(), 70)
                + "'");
      }
      tree.putIfAbsent(t.getObjectId(), t);
      for (ObjectTree child : t.getChildrenList()) {
        todo.push(child);
        depths.push(depth + 1);
      }
    }
  }

  /** Pulls object {@code id}, checks its type and that its head agrees with the tree. */
  private FlowerObject pull(String id, FlowerObject.Type type, int maxChildren, String what)
      throws InvalidMessageException {
    ObjectTree node = tree.get(id);
    if (node == null) {
      throw new InvalidMessageException(what + " (" + id + ") is not in the message's object tree");
    }
    FlowerObject o = FlowerObject.parse(id, source.pull(id), maxChildren);
    if (type != null && o.type() != type) {
      throw new InvalidMessageException(what + " is a " + o.type() + " object, expected " + type);
    }
    // The SuperLink's SQL store rebuilds trees with children in no particular order.
    java.util.Set<String> treeChildren = new java.util.HashSet<>();
    for (ObjectTree c : node.getChildrenList()) {
      treeChildren.add(c.getObjectId());
    }
    if (treeChildren.size() != node.getChildrenCount()
        || !treeChildren.equals(new java.util.HashSet<>(o.children()))) {
      throw new InvalidMessageException(
          what + " (" + id + ") lists other children than the message's object tree");
    }
    if (o.type() != FlowerObject.Type.ArrayChunk && o.body().length > MAX_SMALL_BODY) {
      throw new InvalidMessageException(
          what
              + " is a "
              + o.type()
              + " of "
              + o.body().length
              + " bytes, the site accepts at most "
              + MAX_SMALL_BODY);
    }
    return o;
  }

  private Content message(Metadata metadata) throws InvalidMessageException {
    FlowerObject m =
        pull(metadata.getMessageId(), FlowerObject.Type.Message, 1, "the Message object");
    Message body;
    try {
      body = Message.parseFrom(m.body());
    } catch (InvalidProtocolBufferException e) {
      throw new InvalidMessageException("the Message object's body is no Message protobuf");
    }
    if (body.hasError()) {
      throw new InvalidMessageException(
          "the message carries an error ("
              + body.getError().getCode()
              + ": "
              + Text.printable(body.getError().getReason(), 200)
              + ") instead of content");
    }
    String differs = differingField(metadata, body.getMetadata());
    if (!differs.isEmpty()) {
      throw new InvalidMessageException(
          "the Message object's metadata." + differs + " differs from the message's");
    }
    if (m.children().size() != 1) {
      throw new InvalidMessageException("the message has no content (no RecordDict)");
    }
    FlowerObject dict =
        pull(m.children().get(0), FlowerObject.Type.RecordDict, MAX_RECORDS, "the RecordDict");
    LinkedHashMap<String, String> records = Bodies.parseRefs(dict, "the RecordDict", MAX_RECORDS);
    String arraysName = null;
    FlowerObject arrays = null;
    LinkedHashMap<String, ConfigRecordValue> config = new LinkedHashMap<>();
    String configName = null;
    for (Map.Entry<String, String> r : records.entrySet()) {
      String what = "record '" + Text.printable(r.getKey(), 64) + "'";
      FlowerObject o = pull(r.getValue(), null, MAX_ARRAYS, what);
      switch (o.type()) {
        case ArrayRecord -> {
          if (arrays != null) {
            throw new InvalidMessageException(
                "the message holds two ArrayRecords ('"
                    + Text.printable(arraysName, 64)
                    + "' and '"
                    + Text.printable(r.getKey(), 64)
                    + "'), the site expects one");
          }
          arraysName = r.getKey();
          arrays = o;
        }
        case ConfigRecord -> {
          // FedAvg's is "config"; any single ConfigRecord serves, "config" wins among several.
          if (configName == null || r.getKey().equals("config")) {
            config = config(o, what);
            configName = r.getKey();
          }
        }
        case MetricRecord -> {
          // Nothing a site acts on.
        }
        default -> throw new InvalidMessageException(what + " is a " + o.type() + ", not a record");
      }
    }
    if (arrays == null) {
      throw new InvalidMessageException("the message holds no ArrayRecord (the model's arrays)");
    }
    List<String> keys = new ArrayList<>();
    Weights weights = arrays(arraysName, arrays, keys);
    return new Content(arraysName, keys, weights, config);
  }

  /** The first metadata field (but message_id, which the object leaves empty) that differs. */
  private static String differingField(Metadata pulled, Metadata object) {
    Metadata expected = pulled.toBuilder().setMessageId("").build();
    if (expected.equals(object)) {
      return "";
    }
    for (var field : Metadata.getDescriptor().getFields()) {
      if (!java.util.Objects.equals(expected.getField(field), object.getField(field))) {
        return field.getName();
      }
    }
    return "(unknown fields)";
  }

  private static LinkedHashMap<String, ConfigRecordValue> config(FlowerObject o, String what)
      throws InvalidMessageException {
    ConfigRecord record;
    try {
      CodedInputStream in = CodedInputStream.newInstance(o.body());
      in.setRecursionLimit(8);
      record = ConfigRecord.parseFrom(in);
    } catch (InvalidProtocolBufferException e) {
      throw new InvalidMessageException(what + ": not a ConfigRecord protobuf");
    } catch (java.io.IOException e) {
      throw new InvalidMessageException(what + ": unreadable: " + Text.oneLine(e));
    }
    if (record.getItemsCount() > MAX_CONFIG_ITEMS) {
      throw new InvalidMessageException(
          what
              + " holds "
              + record.getItemsCount()
              + " items, the site accepts at most "
              + MAX_CONFIG_ITEMS);
    }
    LinkedHashMap<String, ConfigRecordValue> items = new LinkedHashMap<>();
    for (ConfigRecord.Item item : record.getItemsList()) {
      if (items.put(item.getKey(), item.getValue()) != null) {
        throw new InvalidMessageException(
            what + " lists '" + Text.printable(item.getKey(), 64) + "' twice");
      }
    }
    return items;
  }

  /** The ArrayRecord's arrays, checked against the model and decoded, keys into {@code keys}. */
  private Weights arrays(String name, FlowerObject record, List<String> keys)
      throws InvalidMessageException {
    String what = "ArrayRecord '" + Text.printable(name, 64) + "'";
    List<ParameterShape> params = spec.parameters();
    LinkedHashMap<String, String> refs = Bodies.parseRefs(record, what, MAX_ARRAYS);
    if (refs.size() != params.size()) {
      throw new InvalidMessageException(
          what
              + " holds "
              + refs.size()
              + " arrays, the site's model "
              + spec.name()
              + " has "
              + params.size()
              + " ("
              + layout()
              + ")");
    }
    keys.addAll(refs.keySet());
    // Index keys ("0", "1", … as ArrayRecord(list) makes them) or the model's names, by the first.
    boolean positional = keys.get(0).matches("[0-9]{1,9}");
    Map<String, float[]> decoded = new HashMap<>();
    List<Weights.NamedArray> out = new ArrayList<>(params.size());
    for (int i = 0; i < params.size(); i++) {
      ParameterShape p = params.get(i);
      String key = keys.get(i);
      String expected = positional ? String.valueOf(i) : p.name();
      if (!key.equals(expected)) {
        throw new InvalidMessageException(
            what
                + ": array "
                + i
                + " has key '"
                + Text.printable(key, 64)
                + "', expected '"
                + expected
                + "' ("
                + (positional ? "index keys, as ArrayRecord(list) makes" : "the model's names")
                + "; the site's model is "
                + layout()
                + ")");
      }
      String id = refs.get(key);
      String arrayWhat = "array '" + Text.printable(key, 64) + "' (" + p.name() + ")";
      float[] values = decoded.get(id);
      if (values == null) {
        values = array(id, p, arrayWhat);
        decoded.put(id, values);
      } else {
        // The same Array object under two keys: the same dtype and shape were checked once.
        values = sameShape(values, p, arrayWhat);
      }
      out.add(new Weights.NamedArray(p.name(), p.shape(), values));
    }
    return new Weights(out);
  }

  private static float[] sameShape(float[] values, ParameterShape p, String what)
      throws InvalidMessageException {
    if (values.length != p.size()) {
      throw new InvalidMessageException(what + " reuses an array of another shape");
    }
    return values;
  }

  /** One array: its metadata against the model's, then its chunks, bounded, then its values. */
  private float[] array(String id, ParameterShape p, String what) throws InvalidMessageException {
    FlowerObject a = pull(id, FlowerObject.Type.Array, MAX_CHUNKS, what);
    long maxBytes = Npy.maxLength(p.shape());
    Bodies.ArrayMeta meta = Bodies.parseArrayMeta(a, what, 4 * MAX_CHUNKS);
    if (!meta.dtype().equals("float32")) {
      throw new InvalidMessageException(
          what
              + " is "
              + Text.printable(meta.dtype(), 32)
              + ", the site takes float32 arrays only");
    }
    if (!Arrays.equals(meta.shape(), p.shape())) {
      throw new InvalidMessageException(
          what
              + " has shape "
              + Arrays.toString(meta.shape())
              + ", the site's model has "
              + Arrays.toString(p.shape()));
    }
    if (!meta.stype().equals("numpy.ndarray")) {
      throw new InvalidMessageException(
          what
              + " is serialized as '"
              + Text.printable(meta.stype(), 32)
              + "', the site reads numpy.ndarray (.npy) only");
    }
    if (meta.chunkIndices().length == 0) {
      throw new InvalidMessageException(what + " has no chunks");
    }
    byte[][] chunks = new byte[a.children().size()][];
    long held = 0;
    long total = 0;
    for (int index : meta.chunkIndices()) {
      if (chunks[index] == null) {
        FlowerObject c =
            pull(
                a.children().get(index),
                FlowerObject.Type.ArrayChunk,
                0,
                what + ", chunk " + index);
        chunks[index] = c.body();
        held += c.body().length;
      }
      total += chunks[index].length;
      if (held > maxBytes || total > maxBytes) {
        throw new InvalidMessageException(
            what
                + ": its chunks exceed the "
                + maxBytes
                + " bytes a "
                + Arrays.toString(p.shape())
                + " float32 .npy may take");
      }
    }
    ByteArrayOutputStream npy = new ByteArrayOutputStream((int) total);
    for (int index : meta.chunkIndices()) {
      npy.writeBytes(chunks[index]);
    }
    try {
      return Npy.decode(npy.toByteArray(), p.shape(), what);
    } catch (WeightsFormatException e) {
      throw new InvalidMessageException(e.getMessage());
    }
  }

  /** The model's arrays, for errors. */
  private String layout() {
    StringBuilder s = new StringBuilder();
    for (ParameterShape p : spec.parameters()) {
      if (s.length() > 0) {
        s.append(", ");
      }
      s.append(p.name()).append(Arrays.toString(p.shape()));
    }
    return s.toString();
  }
}
