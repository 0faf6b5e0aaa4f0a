package io.mnistfl.flower;

import flwr.proto.MessageOuterClass.Message;
import flwr.proto.MessageOuterClass.Metadata;
import flwr.proto.MessageOuterClass.ObjectTree;
import flwr.proto.Recorddict.ConfigRecord;
import flwr.proto.Recorddict.ConfigRecordValue;
import io.mnistfl.model.Npy;
import io.mnistfl.model.Weights;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds the messages a SuperLink sends, as FedAvg makes them, with knobs for every way a hostile
 * one could differ: other dtypes, raw {@code .npy} bytes, more chunks, other record types, any
 * config.
 */
final class TestMessages {
  /** A message to serve: its metadata (message_id set), tree and objects. */
  record Built(Metadata metadata, ObjectTree tree, Map<String, byte[]> objects) {}

  final Map<String, byte[]> objects = new LinkedHashMap<>();

  ObjectTree add(FlowerObject.Type type, List<ObjectTree> children, byte[] body) {
    List<String> ids = new ArrayList<>();
    for (ObjectTree c : children) {
      ids.add(c.getObjectId());
    }
    byte[] bytes = new FlowerObject(type, ids, body).bytes();
    String id = FlowerObject.id(bytes);
    objects.put(id, bytes);
    return ObjectTree.newBuilder().setObjectId(id).addAllChildren(children).build();
  }

  /**
   * An Array of the given {@code .npy} bytes, in chunks of {@code chunk} bytes, JSON dtype as
   * given.
   */
  ObjectTree array(String dtype, int[] shape, byte[] npy, int chunk) {
    List<ObjectTree> chunks = new ArrayList<>();
    List<Integer> indices = new ArrayList<>();
    for (int at = 0; at < npy.length; at += chunk) {
      byte[] part = java.util.Arrays.copyOfRange(npy, at, Math.min(npy.length, at + chunk));
      ObjectTree c = add(FlowerObject.Type.ArrayChunk, List.of(), part);
      int index = -1;
      for (int i = 0; i < chunks.size(); i++) {
        if (chunks.get(i).getObjectId().equals(c.getObjectId())) {
          index = i;
        }
      }
      if (index < 0) {
        chunks.add(c);
        index = chunks.size() - 1;
      }
      indices.add(index);
    }
    String body =
        "{\"dtype\": \""
            + dtype
            + "\", \"shape\": "
            + java.util.Arrays.toString(shape)
            + ", \"stype\": \"numpy.ndarray\", \"arraychunk_ids\": "
            + indices
            + "}";
    return add(FlowerObject.Type.Array, chunks, body.getBytes());
  }

  ObjectTree float32(Weights.NamedArray a) {
    return array("float32", a.shape(), Npy.encode(a.shape(), a.values()), Reply.CHUNK_BYTES);
  }

  ObjectTree arrayRecord(List<String> keys, List<ObjectTree> arrays) {
    LinkedHashMap<String, String> refs = new LinkedHashMap<>();
    LinkedHashMap<String, ObjectTree> distinct = new LinkedHashMap<>();
    for (int i = 0; i < keys.size(); i++) {
      refs.put(keys.get(i), arrays.get(i).getObjectId());
      distinct.putIfAbsent(arrays.get(i).getObjectId(), arrays.get(i));
    }
    return add(FlowerObject.Type.ArrayRecord, List.copyOf(distinct.values()), Bodies.refs(refs));
  }

  ObjectTree arrays(Weights w) {
    List<String> keys = new ArrayList<>();
    List<ObjectTree> arrays = new ArrayList<>();
    for (int i = 0; i < w.arrays().size(); i++) {
      keys.add(String.valueOf(i));
      arrays.add(float32(w.arrays().get(i)));
    }
    return arrayRecord(keys, arrays);
  }

  ObjectTree config(ConfigRecord c) {
    return add(FlowerObject.Type.ConfigRecord, List.of(), c.toByteArray());
  }

  static ConfigRecord fedAvgConfig(int round) {
    return ConfigRecord.newBuilder()
        .addItems(item("lr", ConfigRecordValue.newBuilder().setDouble(0.05).build()))
        .addItems(item("local-epochs", ConfigRecordValue.newBuilder().setSint64(1).build()))
        .addItems(item("batch-size", ConfigRecordValue.newBuilder().setSint64(32).build()))
        .addItems(item("server-round", ConfigRecordValue.newBuilder().setSint64(round).build()))
        .build();
  }

  static ConfigRecord.Item item(String key, ConfigRecordValue v) {
    return ConfigRecord.Item.newBuilder().setKey(key).setValue(v).build();
  }

  ObjectTree recordDict(LinkedHashMap<String, ObjectTree> records) {
    LinkedHashMap<String, String> refs = new LinkedHashMap<>();
    for (Map.Entry<String, ObjectTree> e : records.entrySet()) {
      refs.put(e.getKey(), e.getValue().getObjectId());
    }
    return add(FlowerObject.Type.RecordDict, List.copyOf(records.values()), Bodies.refs(refs));
  }

  /** The message object around a RecordDict, for node {@code dst} of run {@code run}. */
  Built message(String type, long run, long dst, double ttl, ObjectTree dict) {
    Metadata md =
        Metadata.newBuilder()
            .setRunId(run)
            .setSrcNodeId(1)
            .setDstNodeId(dst)
            .setGroupId("1")
            .setTtl(ttl)
            .setMessageType(type)
            .setCreatedAt(System.currentTimeMillis() / 1000.0)
            .build();
    ObjectTree root =
        add(
            FlowerObject.Type.Message,
            List.of(dict),
            Message.newBuilder().setMetadata(md).build().toByteArray());
    return new Built(
        md.toBuilder().setMessageId(root.getObjectId()).build(), root, Map.copyOf(objects));
  }

  /** A train message as FedAvg sends it. */
  static Built train(Weights w, long run, long dst, int round) {
    TestMessages m = new TestMessages();
    LinkedHashMap<String, ObjectTree> records = new LinkedHashMap<>();
    records.put("arrays", m.arrays(w));
    records.put("config", m.config(fedAvgConfig(round)));
    return m.message("train", run, dst, 43200, m.recordDict(records));
  }
}
