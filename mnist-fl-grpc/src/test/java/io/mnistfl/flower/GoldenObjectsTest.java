package io.mnistfl.flower;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import flwr.proto.MessageOuterClass.Metadata;
import flwr.proto.MessageOuterClass.ObjectTree;
import flwr.proto.Recorddict.ConfigRecordValue;
import io.mnistfl.model.Initializer;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The object encoding against Flower's own: a train message and a stand-in's reply made by Flower
 * 1.29.0's code (src/test/resources/io/mnistfl/flower/golden, see its README). The site reads the
 * first as the model's weights and config, and builds the second byte for byte.
 */
class GoldenObjectsTest {
  /** A model whose arrays are the golden message's: a dense kernel [3, 2] and its bias [2]. */
  static final ModelSpec PAIR =
      ModelSpec.builder()
          .name("pair")
          .input(1, 3)
          .numClasses(2)
          .flatten()
          .logits(Initializer.GLOROT_UNIFORM)
          .build();

  static byte[] golden(String name) throws IOException {
    try (InputStream in = GoldenObjectsTest.class.getResourceAsStream("golden/" + name)) {
      if (in == null) {
        throw new IOException("no golden file " + name);
      }
      return in.readAllBytes();
    }
  }

  static JsonNode trees() throws IOException {
    return new ObjectMapper().readTree(golden("trees.json"));
  }

  static ObjectTree tree(JsonNode n) {
    ObjectTree.Builder b = ObjectTree.newBuilder().setObjectId(n.get("objectId").asText());
    if (n.has("children")) {
      for (JsonNode c : n.get("children")) {
        b.addChildren(tree(c));
      }
    }
    return b.build();
  }

  static Metadata metadata(JsonNode m) {
    Metadata.Builder b =
        Metadata.newBuilder()
            .setRunId(Long.parseUnsignedLong(m.get("run_id").asText()))
            .setMessageId(m.get("message_id").asText())
            .setSrcNodeId(Long.parseUnsignedLong(m.get("src_node_id").asText()))
            .setDstNodeId(Long.parseUnsignedLong(m.get("dst_node_id").asText()))
            .setGroupId(m.get("group_id").asText())
            .setTtl(m.get("ttl").asDouble())
            .setMessageType(m.get("message_type").asText())
            .setCreatedAt(m.get("created_at").asDouble());
    if (m.has("reply_to_message_id")) {
      b.setReplyToMessageId(m.get("reply_to_message_id").asText());
    }
    return b.build();
  }

  static Inbound.Source files() {
    return id -> {
      try {
        return golden(id);
      } catch (IOException e) {
        throw new InvalidMessageException("no such golden object " + id);
      }
    };
  }

  @Test
  void readsFedAvgsTrainMessageAsTheModelsWeightsAndConfig() throws Exception {
    JsonNode train = trees().get("train");
    Inbound.Content c =
        Inbound.read(
            metadata(train.get("metadata")), tree(train.get("object_tree")), PAIR, files());
    assertThat(c.arraysName()).isEqualTo("arrays");
    assertThat(c.keys()).containsExactly("0", "1");
    assertThat(c.weights().arrays().get(0).name()).isEqualTo("dense_1/kernel");
    assertThat(c.weights().arrays().get(0).values()).containsExactly(0, 0.5f, 1, 1.5f, 2, 2.5f);
    assertThat(c.weights().arrays().get(1).values()).containsExactly(-1, 2);
    assertThat(c.config().keySet())
        .containsExactly("lr", "local-epochs", "batch-size", "server-round");
    assertThat(c.config().get("lr").getValueCase()).isEqualTo(ConfigRecordValue.ValueCase.DOUBLE);
    assertThat(c.config().get("lr").getDouble()).isEqualTo(0.05);
    assertThat(c.config().get("batch-size").getSint64()).isEqualTo(32);
    assertThat(c.config().get("server-round").getSint64()).isEqualTo(1);
  }

  @Test
  void treesInAnyChildOrderAreRead() throws Exception {
    // Flower's SQL object store rebuilds trees without ordering the children.
    JsonNode train = trees().get("train");
    ObjectTree shuffled = reversed(tree(train.get("object_tree")));
    Inbound.Content c = Inbound.read(metadata(train.get("metadata")), shuffled, PAIR, files());
    assertThat(c.keys()).containsExactly("0", "1");
  }

  static ObjectTree reversed(ObjectTree t) {
    List<ObjectTree> children = new ArrayList<>();
    for (ObjectTree c : t.getChildrenList()) {
      children.add(reversed(c));
    }
    Collections.reverse(children);
    return ObjectTree.newBuilder().setObjectId(t.getObjectId()).addAllChildren(children).build();
  }

  @Test
  void buildsTheStandInsReplyByteForByte() throws Exception {
    JsonNode trees = trees();
    Metadata train = metadata(trees.get("train").get("metadata"));
    Metadata expected = metadata(trees.get("reply").get("metadata"));
    Inbound.Content c =
        Inbound.read(train, tree(trees.get("train").get("object_tree")), PAIR, files());
    List<Weights.NamedArray> plusOne = new ArrayList<>();
    for (Weights.NamedArray a : c.weights().arrays()) {
      float[] v = a.values().clone();
      for (int i = 0; i < v.length; i++) {
        v[i] += 1f;
      }
      plusOne.add(new Weights.NamedArray(a.name(), a.shape(), v));
    }
    LinkedHashMap<String, Number> metrics = new LinkedHashMap<>();
    metrics.put("train-loss", 0.75);
    metrics.put("train-accuracy", 0.0);
    metrics.put("num-examples", 10L);
    Reply reply =
        Reply.content(
            train,
            expected.getSrcNodeId(),
            expected.getCreatedAt(),
            c.arraysName(),
            c.keys(),
            new Weights(plusOne),
            "metrics",
            metrics);
    assertThat(reply.message().getMetadata()).isEqualTo(expected);
    assertThat(reply.id()).isEqualTo(expected.getMessageId());
    assertThat(reply.tree()).isEqualTo(tree(trees.get("reply").get("object_tree")));
    Map<String, byte[]> goldenObjects = new HashMap<>();
    collect(reply.tree(), goldenObjects);
    assertThat(reply.objects().keySet()).isEqualTo(goldenObjects.keySet());
    for (Map.Entry<String, byte[]> e : reply.objects().entrySet()) {
      assertThat(e.getValue()).as("object " + e.getKey()).isEqualTo(goldenObjects.get(e.getKey()));
      assertThat(FlowerObject.id(e.getValue())).isEqualTo(e.getKey());
    }
    assertThat(reply.message().hasContent()).isTrue();
    assertThat(reply.message().getContent().getItemsCount()).isZero();
    assertThat(reply.expiresAt()).isEqualTo(train.getCreatedAt() + train.getTtl());
  }

  static void collect(ObjectTree t, Map<String, byte[]> out) throws IOException {
    out.put(t.getObjectId(), golden(t.getObjectId()));
    for (ObjectTree c : t.getChildrenList()) {
      collect(c, out);
    }
  }

  @Test
  void everyGoldenObjectParsesUnderItsId() throws Exception {
    JsonNode trees = trees();
    for (String message : List.of("train", "reply")) {
      Map<String, byte[]> objects = new HashMap<>();
      collect(tree(trees.get(message).get("object_tree")), objects);
      for (Map.Entry<String, byte[]> e : objects.entrySet()) {
        FlowerObject o = FlowerObject.parse(e.getKey(), e.getValue(), 8);
        assertThat(o.bytes()).isEqualTo(e.getValue());
      }
    }
  }

  @Test
  void aCorruptObjectIsNamedByItsId() throws Exception {
    String id = "cfb4f5607e35dc9f9cb9e113aaac0d558b9c417efa7950e20210ba03c928f225";
    byte[] bytes = golden(id);
    bytes[bytes.length - 1] ^= 1;
    assertThatThrownBy(() -> FlowerObject.parse(id, bytes, 8))
        .isInstanceOf(InvalidMessageException.class)
        .hasMessageContaining("object " + id + " is corrupt");
  }
}
