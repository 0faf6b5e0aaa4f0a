package io.mnistfl.flower;

import flwr.proto.ErrorOuterClass;
import flwr.proto.MessageOuterClass.Message;
import flwr.proto.MessageOuterClass.Metadata;
import flwr.proto.MessageOuterClass.ObjectTree;
import flwr.proto.Recorddict.MetricRecord;
import flwr.proto.Recorddict.MetricRecordValue;
import flwr.proto.Recorddict.RecordDict;
import io.mnistfl.model.Npy;
import io.mnistfl.model.Weights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A reply ready to push: the Message proto PushMessages carries (metadata with the reply's id, and
 * an empty RecordDict as content, or the error), its object tree, and every object's bytes by id.
 * Its metadata follows Flower's rules for replies: run, group and type copied, addressed to the
 * sender, {@code reply_to_message_id} set, and a TTL that ends when the received message's does.
 *
 * @param message what PushMessages carries
 * @param tree the reply's object tree
 * @param objects every object's bytes, by id
 * @param expiresAt when the SuperLink stops accepting it, Unix seconds
 */
record Reply(Message message, ObjectTree tree, Map<String, byte[]> objects, double expiresAt) {

  /** Flower's chunk size for array data (FLWR_PRIVATE_MAX_ARRAY_CHUNK_SIZE's default). */
  static final int CHUNK_BYTES = 5 * 1024 * 1024;

  /** Flower's code for an error a ClientApp raised. */
  static final int CLIENT_APP_RAISED_EXCEPTION = 2;

  /** The id of the reply, which PushMessages' results name. */
  String id() {
    return tree.getObjectId();
  }

  /**
   * A reply with arrays (may be none) and metrics.
   *
   * @param received the metadata of the message replied to
   * @param nodeId this node's id
   * @param now the time it is made, Unix seconds
   * @param arraysName the ArrayRecord's name, or null for none
   * @param keys the array keys, in order, one per array of {@code weights}
   * @param weights the arrays, or null for none
   * @param metricsName the MetricRecord's name
   * @param metrics metric names to values: a {@link Long} is sent as sint64, a {@link Double} as
   *     double
   */
  static Reply content(
      Metadata received,
      long nodeId,
      double now,
      String arraysName,
      List<String> keys,
      Weights weights,
      String metricsName,
      LinkedHashMap<String, Number> metrics) {
    Builder b = new Builder();
    LinkedHashMap<String, String> records = new LinkedHashMap<>();
    List<ObjectTree> recordTrees = new ArrayList<>();
    if (weights != null) {
      LinkedHashMap<String, String> arrayRefs = new LinkedHashMap<>();
      LinkedHashMap<String, ObjectTree> arrayTrees = new LinkedHashMap<>();
      for (int i = 0; i < keys.size(); i++) {
        Weights.NamedArray a = weights.arrays().get(i);
        ObjectTree t = b.array(a.shape(), a.values());
        arrayRefs.put(keys.get(i), t.getObjectId());
        arrayTrees.putIfAbsent(t.getObjectId(), t);
      }
      ObjectTree record =
          b.add(
              FlowerObject.Type.ArrayRecord,
              List.copyOf(arrayTrees.values()),
              Bodies.refs(arrayRefs));
      records.put(arraysName, record.getObjectId());
      recordTrees.add(record);
    }
    MetricRecord.Builder m = MetricRecord.newBuilder();
    for (Map.Entry<String, Number> e : metrics.entrySet()) {
      MetricRecordValue.Builder v = MetricRecordValue.newBuilder();
      if (e.getValue() instanceof Long l) {
        v.setSint64(l);
      } else {
        v.setDouble(e.getValue().doubleValue());
      }
      m.addItems(MetricRecord.Item.newBuilder().setKey(e.getKey()).setValue(v));
    }
    ObjectTree metricTree =
        b.add(FlowerObject.Type.MetricRecord, List.of(), m.build().toByteArray());
    recordTrees.add(metricTree);
    records.put(metricsName, metricTree.getObjectId());
    ObjectTree dict = b.add(FlowerObject.Type.RecordDict, recordTrees, Bodies.refs(records));
    Metadata metadata = metadata(received, nodeId, now);
    Message body = Message.newBuilder().setMetadata(metadata).build();
    ObjectTree root = b.add(FlowerObject.Type.Message, List.of(dict), body.toByteArray());
    Message pushed =
        Message.newBuilder()
            .setMetadata(metadata.toBuilder().setMessageId(root.getObjectId()))
            .setContent(RecordDict.getDefaultInstance())
            .build();
    return new Reply(pushed, root, b.objects, expiry(metadata));
  }

  /**
   * An error reply.
   *
   * @param received the metadata of the message replied to
   * @param nodeId this node's id
   * @param now the time it is made, Unix seconds
   * @param code Flower's error code
   * @param reason one line saying why
   */
  static Reply error(Metadata received, long nodeId, double now, int code, String reason) {
    Builder b = new Builder();
    Metadata metadata = metadata(received, nodeId, now);
    ErrorOuterClass.Error error =
        ErrorOuterClass.Error.newBuilder().setCode(code).setReason(reason).build();
    Message body = Message.newBuilder().setMetadata(metadata).setError(error).build();
    ObjectTree root = b.add(FlowerObject.Type.Message, List.of(), body.toByteArray());
    Message pushed =
        Message.newBuilder()
            .setMetadata(metadata.toBuilder().setMessageId(root.getObjectId()))
            .setError(error)
            .build();
    return new Reply(pushed, root, b.objects, expiry(metadata));
  }

  private static double expiry(Metadata m) {
    return m.getCreatedAt() + m.getTtl();
  }

  /** The reply's metadata as a Python SuperNode makes it (its message_id still empty). */
  static Metadata metadata(Metadata received, long nodeId, double now) {
    return Metadata.newBuilder()
        .setRunId(received.getRunId())
        .setSrcNodeId(nodeId)
        .setDstNodeId(received.getSrcNodeId())
        .setReplyToMessageId(received.getMessageId())
        .setGroupId(received.getGroupId())
        .setTtl(received.getCreatedAt() + received.getTtl() - now)
        .setMessageType(received.getMessageType())
        .setCreatedAt(now)
        .build();
  }

  /** Accumulates objects and their trees. */
  private static final class Builder {
    final Map<String, byte[]> objects = new LinkedHashMap<>();

    ObjectTree add(FlowerObject.Type type, List<ObjectTree> children, byte[] body) {
      List<String> ids = new ArrayList<>(children.size());
      for (ObjectTree c : children) {
        ids.add(c.getObjectId());
      }
      byte[] bytes = new FlowerObject(type, ids, body).bytes();
      String id = FlowerObject.id(bytes);
      objects.putIfAbsent(id, bytes);
      return ObjectTree.newBuilder().setObjectId(id).addAllChildren(children).build();
    }

    /** An Array object and its chunks: the {@code .npy} bytes in slices of at most 5 MiB. */
    ObjectTree array(int[] shape, float[] values) {
      byte[] npy = Npy.encode(shape, values);
      LinkedHashMap<String, ObjectTree> distinct = new LinkedHashMap<>();
      List<String> order = new ArrayList<>();
      for (int at = 0; at < npy.length; at += CHUNK_BYTES) {
        ObjectTree chunk =
            add(
                FlowerObject.Type.ArrayChunk,
                List.of(),
                Arrays.copyOfRange(npy, at, Math.min(npy.length, at + CHUNK_BYTES)));
        distinct.putIfAbsent(chunk.getObjectId(), chunk);
        order.add(chunk.getObjectId());
      }
      List<String> ids = new ArrayList<>(distinct.keySet());
      int[] indices = order.stream().mapToInt(ids::indexOf).toArray();
      return add(
          FlowerObject.Type.Array,
          List.copyOf(distinct.values()),
          Bodies.arrayMeta(shape, indices));
    }
  }
}
