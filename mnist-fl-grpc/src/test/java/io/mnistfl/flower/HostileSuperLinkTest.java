package io.mnistfl.flower;

import static org.assertj.core.api.Assertions.assertThat;

import flwr.proto.MessageOuterClass.Message;
import flwr.proto.MessageOuterClass.ObjectTree;
import flwr.proto.Recorddict.ConfigRecord;
import flwr.proto.Recorddict.ConfigRecordValue;
import io.mnistfl.fl.Client;
import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.fl.site.SiteLimits;
import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Npy;
import io.mnistfl.model.Weights;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A SuperNode against a SuperLink of the test's own (on 127.0.0.1) that sends what a hostile or
 * broken one could: oversized objects, wrong hashes, float64 arrays, unknown message types, huge
 * configs, deep or huge trees, wrong layouts, absurd TTLs. The node answers each with an error
 * reply naming what was wrong (or drops what nobody can answer), never crashes, holds no more
 * memory afterwards, and still trains on the next good message.
 */
class HostileSuperLinkTest {
  static final ModelSpec PAIR = GoldenObjectsTest.PAIR;
  static final long RUN = 0x8000_0000_0000_0007L;
  static StandInSuperLink link;
  static FlowerSuperNode node;
  static final BlockingQueue<String> events = new LinkedBlockingQueue<>();
  static final AtomicInteger fits = new AtomicInteger();

  /** Replies with the received weights + 0.5 and 10 examples, like the kit's stand-in. */
  static final class StandIn implements Client {
    @Override
    public String id() {
      return "stand-in";
    }

    @Override
    public int numExamples() {
      return 10;
    }

    @Override
    public ClientUpdate fit(Weights global, RoundConfig config) {
      fits.incrementAndGet();
      List<Weights.NamedArray> out = new ArrayList<>();
      for (Weights.NamedArray a : global.arrays()) {
        float[] v = a.values().clone();
        for (int i = 0; i < v.length; i++) {
          v[i] += 0.5f;
        }
        out.add(new Weights.NamedArray(a.name(), a.shape(), v));
      }
      return new ClientUpdate(id(), new Weights(out), 10, 0.25, 0.75);
    }

    @Override
    public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
      return new ClientEvaluation(
          id(), 4, 0.5, ConfusionMatrix.of(2, new int[] {0, 1, 1, 0}, new int[] {0, 1, 0, 0}));
    }
  }

  @BeforeAll
  static void start() throws Exception {
    link = new StandInSuperLink(0);
    node =
        FlowerSuperNode.builder("127.0.0.1", link.port())
            .insecure()
            .model(PAIR)
            .client(new StandIn())
            .limits(new SiteLimits(3, 1000, 64))
            .pollInterval(Duration.ofMillis(50))
            .backoff(Duration.ofMillis(100), Duration.ofMillis(400))
            .events(
                new FlowerSuperNode.Events() {
                  @Override
                  public void activated(String site, String nodeId) {
                    events.add("activated " + nodeId);
                  }

                  @Override
                  public void dropped(String site, String why) {
                    events.add("dropped " + why);
                  }

                  @Override
                  public void disconnected(String site, String why, Duration retryIn) {
                    events.add("disconnected " + why);
                  }
                })
            .build()
            .start();
    assertThat(node.awaitActivated(Duration.ofSeconds(20))).isTrue();
  }

  @AfterAll
  static void stop() throws Exception {
    node.close();
    link.close();
  }

  static Weights weights(float base) {
    List<Weights.NamedArray> arrays = new ArrayList<>();
    float v = base;
    for (var p : PAIR.parameters()) {
      float[] values = new float[p.size()];
      for (int i = 0; i < values.length; i++) {
        values[i] = v++;
      }
      arrays.add(new Weights.NamedArray(p.name(), p.shape(), values));
    }
    return new Weights(arrays);
  }

  /** Sends {@code m} and returns the node's error reason. */
  static String refusal(TestMessages.Built m) throws InterruptedException {
    link.send(m);
    Message reply = link.nextReply(20);
    assertThat(reply).as("a reply").isNotNull();
    assertThat(reply.hasError()).as("an error reply, not %s", reply).isTrue();
    assertThat(reply.getError().getCode()).isEqualTo(2);
    assertThat(reply.getMetadata().getReplyToMessageId()).isEqualTo(m.metadata().getMessageId());
    assertThat(reply.getMetadata().getSrcNodeId()).isEqualTo(StandInSuperLink.NODE_ID);
    return reply.getError().getReason();
  }

  /** A train message whose ArrayRecord is built by {@code arrays}. */
  static TestMessages.Built train(java.util.function.Function<TestMessages, ObjectTree> arrays) {
    return train(arrays, TestMessages.fedAvgConfig(1));
  }

  static TestMessages.Built train(
      java.util.function.Function<TestMessages, ObjectTree> arrays, ConfigRecord config) {
    TestMessages t = new TestMessages();
    LinkedHashMap<String, ObjectTree> records = new LinkedHashMap<>();
    records.put("arrays", arrays.apply(t));
    records.put("config", t.config(config));
    return t.message("train", RUN, StandInSuperLink.NODE_ID, 600, t.recordDict(records));
  }

  @Test
  void aGoodTrainMessageGetsTheTrainedArraysUnderTheReceivedKeys() throws Exception {
    TestMessages.Built m = TestMessages.train(weights(1), RUN, StandInSuperLink.NODE_ID, 3);
    link.send(m);
    var push = link.nextPush(20);
    assertThat(push).isNotNull();
    Message reply = push.getMessagesList(0);
    assertThat(reply.hasError()).as("%s", reply).isFalse();
    assertThat(reply.getContent().getItemsCount()).isZero();
    var md = reply.getMetadata();
    assertThat(md.getRunId()).isEqualTo(RUN);
    assertThat(md.getDstNodeId()).isEqualTo(1);
    assertThat(md.getMessageType()).isEqualTo("train");
    assertThat(md.getGroupId()).isEqualTo("1");
    assertThat(md.getCreatedAt() + md.getTtl())
        .isCloseTo(
            m.metadata().getCreatedAt() + m.metadata().getTtl(),
            org.assertj.core.data.Offset.offset(1e-6));
    Inbound.Content back =
        Inbound.read(md, push.getMessageObjectTrees(0), PAIR, id -> link.received.get(id));
    assertThat(back.arraysName()).isEqualTo("arrays");
    assertThat(back.keys()).containsExactly("0", "1");
    assertThat(back.weights().arrays().get(1).values()).containsExactly(7.5f, 8.5f);
  }

  @Test
  void anUnknownMessageTypeGetsAnError() throws Exception {
    TestMessages t = new TestMessages();
    LinkedHashMap<String, ObjectTree> records = new LinkedHashMap<>();
    records.put("arrays", t.arrays(weights(0)));
    TestMessages.Built m =
        t.message("query", RUN, StandInSuperLink.NODE_ID, 600, t.recordDict(records));
    assertThat(refusal(m))
        .isEqualTo(
            "site stand-in does not handle messages of type 'query' (only train and evaluate)");
  }

  @Test
  void aCorruptObjectIsNamed() throws Exception {
    TestMessages.Built m = TestMessages.train(weights(0), RUN, StandInSuperLink.NODE_ID, 1);
    String victim = m.tree().getChildren(0).getChildren(0).getObjectId(); // the ArrayRecord
    byte[] bytes = m.objects().get(victim).clone();
    bytes[bytes.length - 2] ^= 1;
    java.util.Map<String, byte[]> objects = new java.util.HashMap<>(m.objects());
    objects.put(victim, bytes);
    String reason =
        refusal(new TestMessages.Built(m.metadata(), m.tree(), java.util.Map.copyOf(objects)));
    assertThat(reason).startsWith("object " + victim + " is corrupt");
  }

  @Test
  void float64ArraysAreRefusedNamingTheArray() throws Exception {
    Weights w = weights(0);
    String reason =
        refusal(
            train(
                t -> {
                  Weights.NamedArray k = w.arrays().get(0);
                  byte[] npy = Npy.encode(k.shape(), k.values());
                  return t.arrayRecord(
                      List.of("0", "1"),
                      List.of(
                          t.array("float64", k.shape(), float64(npy), Reply.CHUNK_BYTES),
                          t.float32(w.arrays().get(1))));
                }));
    assertThat(reason)
        .isEqualTo("array '0' (dense_1/kernel) is float64, the site takes float32 arrays only");
    // A JSON that claims float32 over .npy bytes of float64 is caught by the .npy header.
    String lying =
        refusal(
            train(
                t -> {
                  Weights.NamedArray k = w.arrays().get(0);
                  byte[] npy = Npy.encode(k.shape(), k.values());
                  return t.arrayRecord(
                      List.of("0", "1"),
                      List.of(
                          t.array("float32", k.shape(), float64(npy), Reply.CHUNK_BYTES),
                          t.float32(w.arrays().get(1))));
                }));
    assertThat(lying).startsWith("array '0' (dense_1/kernel): dtype float64 ('<f8')");
  }

  /** The float32 .npy rewritten as float64: its header says '<f8' and the data doubles. */
  static byte[] float64(byte[] npy32) {
    String header = new String(npy32, 10, 118, StandardCharsets.ISO_8859_1).replace("<f4", "<f8");
    ByteBuffer in = ByteBuffer.wrap(npy32, 128, npy32.length - 128).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer out =
        ByteBuffer.allocate(128 + 2 * (npy32.length - 128)).order(ByteOrder.LITTLE_ENDIAN);
    out.put(npy32, 0, 10).put(header.getBytes(StandardCharsets.ISO_8859_1));
    while (in.hasRemaining()) {
      out.putDouble(in.getFloat());
    }
    return out.array();
  }

  @Test
  void layoutsThatAreNotTheModelsAreRefusedNamingTheFirstMismatch() throws Exception {
    Weights w = weights(0);
    assertThat(
            refusal(
                TestMessages.train(
                    ModelSpec.baseline().initialWeights(), RUN, StandInSuperLink.NODE_ID, 1)))
        .startsWith(
            "ArrayRecord 'arrays' holds 6 arrays, the site's model pair has 2 (dense_1/kernel[3, 2], dense_1/bias[2])");
    assertThat(
            refusal(
                train(
                    t ->
                        t.arrayRecord(
                            List.of("1", "0"),
                            List.of(t.float32(w.arrays().get(1)), t.float32(w.arrays().get(0)))))))
        .startsWith("ArrayRecord 'arrays': array 0 has key '1', expected '0'");
    Weights.NamedArray wide = new Weights.NamedArray("x", new int[] {2, 3}, new float[6]);
    assertThat(
            refusal(
                train(
                    t ->
                        t.arrayRecord(
                            List.of("0", "1"),
                            List.of(t.float32(wide), t.float32(w.arrays().get(1)))))))
        .isEqualTo("array '0' (dense_1/kernel) has shape [2, 3], the site's model has [3, 2]");
  }

  @Test
  void chunksBeyondWhatTheShapeAllowsAreRefused() throws Exception {
    Weights w = weights(0);
    assertThat(
            refusal(
                train(
                    t -> {
                      Weights.NamedArray k = w.arrays().get(0);
                      byte[] npy = Npy.encode(k.shape(), k.values());
                      byte[] padded = Arrays.copyOf(npy, 20_000);
                      return t.arrayRecord(
                          List.of("0", "1"),
                          List.of(
                              t.array("float32", k.shape(), padded, 1000),
                              t.float32(w.arrays().get(1))));
                    })))
        .startsWith("array '0' (dense_1/kernel): its chunks exceed the");
  }

  @Test
  void hugeConfigsAndBadConfigValuesAreRefusedNamingTheField() throws Exception {
    Weights w = weights(0);
    ConfigRecord big =
        TestMessages.fedAvgConfig(1).toBuilder()
            .addItems(
                TestMessages.item(
                    "note", ConfigRecordValue.newBuilder().setString("x".repeat(3 << 20)).build()))
            .build();
    assertThat(refusal(train(t -> t.arrays(w), big)))
        .matches("record 'config' is a ConfigRecord of \\d+ bytes, the site accepts at most 65536");
    ConfigRecord.Builder many = TestMessages.fedAvgConfig(1).toBuilder();
    for (int i = 0; i < 5000; i++) {
      many.addItems(
          TestMessages.item("k" + i, ConfigRecordValue.newBuilder().setBool(true).build()));
    }
    assertThat(refusal(train(t -> t.arrays(w), many.build())))
        .isEqualTo("record 'config' holds 5004 items, the site accepts at most 256");
    ConfigRecord stringLr =
        ConfigRecord.newBuilder()
            .addItems(
                TestMessages.item("lr", ConfigRecordValue.newBuilder().setString("fast").build()))
            .build();
    assertThat(refusal(train(t -> t.arrays(w), stringLr)))
        .isEqualTo("config 'lr' is a string, expected a number");
    ConfigRecord nanLr =
        ConfigRecord.newBuilder()
            .addItems(
                TestMessages.item(
                    "lr", ConfigRecordValue.newBuilder().setDouble(Double.NaN).build()))
            .build();
    assertThat(refusal(train(t -> t.arrays(w), nanLr))).startsWith("config 'lr' = NaN is outside");
    ConfigRecord epochs =
        TestMessages.fedAvgConfig(1).toBuilder()
            .setItems(
                1,
                TestMessages.item(
                    "local-epochs", ConfigRecordValue.newBuilder().setSint64(1000).build()))
            .build();
    assertThat(refusal(train(t -> t.arrays(w), epochs)))
        .isEqualTo("site stand-in refuses: asked for 1000 local epochs, the site's limit is 3");
    ConfigRecord zeroBatch =
        TestMessages.fedAvgConfig(1).toBuilder()
            .setItems(
                2,
                TestMessages.item(
                    "batch-size", ConfigRecordValue.newBuilder().setSint64(0).build()))
            .build();
    assertThat(refusal(train(t -> t.arrays(w), zeroBatch)))
        .startsWith("config 'batch-size' = 0 is outside [1, ");
  }

  @Test
  void hugeOrDeepTreesAndAbsurdTtlsAreRefusedBeforeAnyPull() throws Exception {
    TestMessages.Built m = TestMessages.train(weights(0), RUN, StandInSuperLink.NODE_ID, 1);
    ObjectTree.Builder wide = m.tree().toBuilder();
    for (int i = 0; i < 5000; i++) {
      wide.addChildren(ObjectTree.newBuilder().setObjectId("a".repeat(64)));
    }
    assertThat(refusal(new TestMessages.Built(m.metadata(), wide.build(), m.objects())))
        .isEqualTo("the message's object tree holds more than 4096 objects");
    ObjectTree deep = ObjectTree.newBuilder().setObjectId("b".repeat(64)).build();
    for (int i = 0; i < 8; i++) {
      deep = ObjectTree.newBuilder().setObjectId("b".repeat(64)).addChildren(deep).build();
    }
    ObjectTree deeper = m.tree().toBuilder().addChildren(deep).build();
    assertThat(refusal(new TestMessages.Built(m.metadata(), deeper, m.objects())))
        .isEqualTo("the message's object tree is deeper than 5 levels");
    var forever = m.metadata().toBuilder().setTtl(1e12).build();
    assertThat(refusal(new TestMessages.Built(forever, m.tree(), m.objects())))
        .isEqualTo("message ttl 1.0E12 s is outside (0, 604800]");
    var elsewhere = m.metadata().toBuilder().setDstNodeId(42).build();
    assertThat(refusal(new TestMessages.Built(elsewhere, m.tree(), m.objects())))
        .startsWith(
            "message is addressed to node 42, this is node "
                + Long.toUnsignedString(StandInSuperLink.NODE_ID));
  }

  @Test
  void anExpiredMessageIsDroppedWithoutAReply() throws Exception {
    TestMessages.Built m = TestMessages.train(weights(0), RUN, StandInSuperLink.NODE_ID, 1);
    var old =
        m.metadata().toBuilder()
            .setCreatedAt(m.metadata().getCreatedAt() - 1000)
            .setTtl(10)
            .build();
    events.clear();
    link.send(new TestMessages.Built(old, m.tree(), m.objects()));
    assertThat(link.nextReply(3)).isNull();
    assertThat(events)
        .anyMatch(e -> e.startsWith("dropped train message") && e.endsWith("had expired"));
  }

  @Test
  void oversizedObjectsAreRefusedAndMemoryStaysFlat() throws Exception {
    long before = usedHeapAfterGc();
    for (int i = 0; i < 6; i++) {
      TestMessages.Built m = TestMessages.train(weights(i), RUN, StandInSuperLink.NODE_ID, 1);
      String arrays = m.tree().getChildren(0).getChildren(0).getObjectId();
      java.util.Map<String, byte[]> objects = new java.util.HashMap<>(m.objects());
      objects.put(arrays, new byte[24 << 20]); // the SuperLink sends 24 MiB for the ArrayRecord
      assertThat(
              refusal(
                  new TestMessages.Built(m.metadata(), m.tree(), java.util.Map.copyOf(objects))))
          .isEqualTo("object " + arrays + " is larger than the 8 MiB the site accepts");
      link.served.clear();
    }
    long after = usedHeapAfterGc();
    assertThat(after - before).as("heap growth after 6 × 24 MiB objects").isLessThan(48L << 20);
    // And the node still trains.
    aGoodTrainMessageStillWorks();
  }

  void aGoodTrainMessageStillWorks() throws Exception {
    int before = fits.get();
    link.send(TestMessages.train(weights(3), RUN, StandInSuperLink.NODE_ID, 2));
    Message reply = link.nextReply(20);
    assertThat(reply).isNotNull();
    assertThat(reply.hasError()).isFalse();
    assertThat(fits.get()).isEqualTo(before + 1);
  }

  static long usedHeapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  @Test
  void evaluateRepliesCarryTheHeldOutMetrics() throws Exception {
    TestMessages t = new TestMessages();
    LinkedHashMap<String, ObjectTree> records = new LinkedHashMap<>();
    records.put("arrays", t.arrays(weights(0)));
    records.put("config", t.config(TestMessages.fedAvgConfig(2)));
    link.send(t.message("evaluate", RUN, StandInSuperLink.NODE_ID, 600, t.recordDict(records)));
    Message reply = link.nextReply(20);
    assertThat(reply).isNotNull();
    assertThat(reply.hasError()).isFalse();
    assertThat(reply.getMetadata().getMessageType()).isEqualTo("evaluate");
  }

  @Test
  void everyCallCarriedValidAuthentication() {
    assertThat(link.authFailures).isEmpty();
    assertThat(link.calls).contains("RegisterNode", "ActivateNode", "PullMessages");
  }
}
