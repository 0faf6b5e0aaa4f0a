package io.mnistfl.fl.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.mnistfl.fl.Client;
import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientRuntime;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.Federation;
import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.fl.SiteFailure;
import io.mnistfl.fl.StandardStrategy;
import io.mnistfl.fl.Toys;
import io.mnistfl.fl.grpc.proto.FederationGrpc;
import io.mnistfl.fl.grpc.proto.Register;
import io.mnistfl.fl.grpc.proto.ResultChunk;
import io.mnistfl.fl.grpc.proto.ServerMessage;
import io.mnistfl.fl.grpc.proto.SiteMessage;
import io.mnistfl.fl.sim.InProcessTransport;
import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.model.Initializer;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gRPC transport in one JVM, on loopback, with certificates made by the test: a federation over
 * mutual TLS equals the in-process one, and every refusal the threat model promises happens with a
 * clear reason while the rest goes on.
 */
class GrpcTransportTest {
  @TempDir static Path dir;
  static QuickStartPki.Layout pki;
  static QuickStartPki.Layout otherPki;
  static final List<String> events = Collections.synchronizedList(new ArrayList<>());
  static final GrpcServer.Events RECORD =
      new GrpcServer.Events() {
        @Override
        public void refused(String who, String why) {
          events.add(who + ": " + why);
        }

        @Override
        public void left(String who, String why) {
          events.add(who + " left: " + why);
        }
      };

  @BeforeAll
  static void certificates() throws IOException {
    pki =
        QuickStartPki.create(
            dir.resolve("pki"),
            List.of("localhost", "127.0.0.1"),
            List.of("a", "b", "c", "d", "mallory"));
    otherPki = QuickStartPki.create(dir.resolve("other"), List.of("localhost"), List.of("a"));
  }

  @AfterAll
  static void noneLeft() {
    events.clear();
  }

  private static GrpcServer server(ModelSpec spec) throws IOException {
    return GrpcServer.builder(spec)
        .listen(new InetSocketAddress("127.0.0.1", 0))
        .tls(pki.server(), pki.allowList())
        .heartbeat(Duration.ofSeconds(1))
        .events(RECORD)
        .build()
        .start();
  }

  private static GrpcSiteHost site(
      GrpcServer server,
      QuickStartPki.Layout layout,
      String cert,
      List<String> ids,
      Client... clients)
      throws IOException {
    Map<String, ClientRuntime> runtimes = new LinkedHashMap<>();
    for (Client c : clients) {
      runtimes.put(c.id(), ClientRuntime.of(c));
    }
    return GrpcSiteHost.builder("localhost", server.port())
        .tls(layout.site(cert))
        .sites(ids)
        .runtimes(spec -> runtimes)
        .heartbeat(Duration.ofSeconds(1))
        .backoff(Duration.ofMillis(100), Duration.ofMillis(400))
        .parallelism(2)
        .build()
        .start();
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("not within 20 s: " + what);
      }
      Thread.sleep(50);
    }
  }

  private static Federation.Builder federation(ModelSpec spec, io.mnistfl.fl.Transport t) {
    return Federation.builder(spec, t)
        .strategy(StandardStrategy.builder().federatedEvaluation(true).build())
        .evaluator(Toys.EVALUATOR)
        .stageTimeout(Duration.ofSeconds(30))
        .parallelism(4);
  }

  @Test
  void aFederationOverMutualTlsEqualsTheInProcessOne() throws Exception {
    List<Client> clients =
        List.of(
            new Toys.Toward("a", 1, 4), new Toys.Toward("b", 2, 8), new Toys.Toward("c", 3, -2));
    FederationHistory local =
        federation(Toys.SPEC, new InProcessTransport(clients)).rounds(3).build().run(Toys.zeros());
    try (GrpcServer server = server(Toys.SPEC);
        GrpcSiteHost a = site(server, pki, "a", List.of("a"), clients.get(0));
        GrpcSiteHost b = site(server, pki, "b", List.of("b"), clients.get(1));
        GrpcSiteHost c = site(server, pki, "c", List.of("c"), clients.get(2))) {
      await(() -> server.siteIds().size() == 3, "three sites joined");
      FederationHistory remote = federation(Toys.SPEC, server).rounds(3).build().run(Toys.zeros());
      assertThat(remote.finalWeights()).isEqualTo(local.finalWeights());
      assertThat(remote.rounds()).allSatisfy(r -> assertThat(r.failures()).isEmpty());
      assertThat(remote.rounds().get(2).federated().orElseThrow().count()).isEqualTo(6);
    }
  }

  @Test
  void aModelAboveGrpcsDefaultMessageSizeTravelsInChunks() throws Exception {
    // 784 × 2000 + … = 1.59 million floats: 6.4 MB a way, as McMahan's CNN's 6.65 MB.
    ModelSpec big =
        ModelSpec.builder()
            .name("big")
            .flatten()
            .dense(2000)
            .logits(Initializer.GLOROT_UNIFORM)
            .build();
    Client site = new Toys.Toward("a", 1, 0.5f);
    try (GrpcServer server = server(big);
        GrpcSiteHost a = site(server, pki, "a", List.of("a"), site)) {
      await(() -> server.siteIds().size() == 1, "the site joined");
      Weights start = big.initialWeights();
      RoundResult r = Federation.builder(big, server).rounds(1).build().run(start).rounds().get(0);
      assertThat(r.failures()).isEmpty();
      assertThat(r.succeeded()).isEqualTo(1);
      long[] bytes = server.payloadBytes();
      assertThat(bytes[0]).isGreaterThan(6_000_000L);
      assertThat(bytes[1]).isGreaterThan(6_000_000L);
    }
  }

  @Test
  void aCertificateFromAnotherCaIsRefusedAtTheHandshake() throws Exception {
    events.clear();
    // The outsider trusts the federation's server but holds a certificate of its own CA.
    TlsFiles foreign =
        new TlsFiles(
            otherPki.site("a").certificateChain(),
            otherPki.site("a").privateKey(),
            pki.caCertificate());
    try (GrpcServer server = server(Toys.SPEC);
        GrpcSiteHost outsider =
            GrpcSiteHost.builder("localhost", server.port())
                .tls(foreign)
                .sites(List.of("a"))
                .runtimes(spec -> Map.of())
                .build()
                .start()) {
      await(
          () -> events.stream().anyMatch(e -> e.contains("not from the federation's CA")),
          "the refusal event");
      assertThat(outsider.awaitJoined(Duration.ofMillis(500))).isFalse();
      assertThat(server.siteIds()).isEmpty();
      assertThat(events)
          .anySatisfy(
              e ->
                  assertThat(e)
                      .startsWith(
                          "a peer presenting CN=a: its certificate is not from the federation's CA"));
    }
  }

  @Test
  void aSiteClaimingAnotherSitesIdIsRefusedAndTheOthersCarryOn() throws Exception {
    events.clear();
    try (GrpcServer server = server(Toys.SPEC);
        GrpcSiteHost honest = site(server, pki, "a", List.of("a"), new Toys.Toward("a", 1, 4));
        GrpcSiteHost thief =
            site(server, pki, "mallory", List.of("b"), new Toys.Toward("b", 1, 100))) {
      await(() -> server.siteIds().contains("a"), "the honest site joined");
      await(() -> events.stream().anyMatch(e -> e.contains("may not serve site b")), "the refusal");
      assertThat(server.siteIds()).containsExactly("a");
      assertThat(events)
          .anySatisfy(
              e ->
                  assertThat(e)
                      .startsWith("certificate mallory at /127.0.0.1:")
                      .endsWith("certificate mallory may not serve site b"));
      RoundResult r =
          federation(Toys.SPEC, server).rounds(1).build().run(Toys.zeros()).rounds().get(0);
      assertThat(r.succeeded()).isEqualTo(1);
    }
  }

  @Test
  void aRevokedSiteIsCutOffWithoutARestart() throws Exception {
    events.clear();
    Path allow = dir.resolve("revocable.txt");
    Files.writeString(allow, "a\nb\n");
    try (GrpcServer server =
            GrpcServer.builder(Toys.SPEC)
                .listen(new InetSocketAddress("127.0.0.1", 0))
                .tls(pki.server(), allow)
                .events(RECORD)
                .build()
                .start();
        GrpcSiteHost a = site(server, pki, "a", List.of("a"), new Toys.Toward("a", 1, 4));
        GrpcSiteHost b = site(server, pki, "b", List.of("b"), new Toys.Toward("b", 1, 4))) {
      await(() -> server.siteIds().size() == 2, "both joined");
      Files.writeString(allow, "a\n");
      await(() -> server.siteIds().equals(List.of("a")), "b revoked");
      assertThat(events)
          .anySatisfy(
              e ->
                  assertThat(e)
                      .contains("certificate b")
                      .contains("revoked by the allow-list: [b]"));
      // b keeps knocking, and keeps being refused.
      Thread.sleep(1500);
      assertThat(server.siteIds()).containsExactly("a");
    }
  }

  @Test
  void aSiteThatGoesQuietIsNotSampledAndOneThatLeavesIsGoneAtOnce() throws Exception {
    try (GrpcServer server = server(Toys.SPEC);
        GrpcSiteHost a = site(server, pki, "a", List.of("a"), new Toys.Toward("a", 1, 4));
        Hostile quiet = new Hostile(server.port(), pki.site("b"))) {
      quiet.register("b");
      await(() -> server.siteIds().size() == 2, "both joined");
      // b sends nothing more: three missed heartbeats of 1 s and it is not sampled.
      await(() -> server.siteIds().equals(List.of("a")), "b not sampled");
      long start = System.nanoTime();
      a.close();
      await(() -> server.siteIds().isEmpty(), "a gone");
      assertThat((System.nanoTime() - start) / 1e9).isLessThan(2.5);
    }
  }

  @Test
  void sitesReconnectByThemselvesAfterAServerRestart() throws Exception {
    int port;
    Client site = new Toys.Toward("a", 1, 4);
    GrpcServer first = server(Toys.SPEC);
    port = first.port();
    try (GrpcSiteHost a = site(first, pki, "a", List.of("a"), site)) {
      await(() -> first.siteIds().size() == 1, "joined the first server");
      first.close();
      try (GrpcServer second =
          GrpcServer.builder(Toys.SPEC)
              .listen(new InetSocketAddress("127.0.0.1", port))
              .tls(pki.server(), pki.allowList())
              .heartbeat(Duration.ofSeconds(1))
              .build()
              .start()) {
        await(() -> second.siteIds().size() == 1, "rejoined the second server");
        RoundResult r =
            Federation.builder(Toys.SPEC, second)
                .rounds(1)
                .build()
                .run(Toys.zeros())
                .rounds()
                .get(0);
        assertThat(r.succeeded()).isEqualTo(1);
      }
    }
  }

  /** Answers every evaluation with a 3-class confusion matrix. */
  private record Forger(String id) implements Client {
    @Override
    public int numExamples() {
      return 10;
    }

    @Override
    public ClientUpdate fit(Weights global, RoundConfig config) {
      return new Toys.Toward(id, 10, 4).fit(global, config);
    }

    @Override
    public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
      return new ClientEvaluation(
          id,
          1000,
          0.1,
          ConfusionMatrix.fromCounts(new long[][] {{1000, 0, 0}, {0, 0, 0}, {0, 0, 0}}));
    }
  }

  @Test
  void aMalformedEvaluationIsRefusedOnTheRoundsLine() throws Exception {
    try (GrpcServer server = server(Toys.SPEC);
        GrpcSiteHost a = site(server, pki, "a", List.of("a"), new Toys.Toward("a", 1, 4));
        GrpcSiteHost b = site(server, pki, "b", List.of("b"), new Forger("b"))) {
      await(() -> server.siteIds().size() == 2, "both joined");
      RoundResult r =
          federation(Toys.SPEC, server).rounds(1).build().run(Toys.zeros()).rounds().get(0);
      assertThat(r.succeeded()).isEqualTo(2);
      assertThat(r.failures())
          .containsExactly(
              new SiteFailure(
                  "b", "evaluate: a 3-class confusion matrix, the model has 2 classes"));
      assertThat(r.federated().orElseThrow().count()).isEqualTo(2);
    }
  }

  @Test
  void replayedStaleAndOversizedAnswersAreRefusedAndTheRoundGoesOn() throws Exception {
    events.clear();
    try (GrpcServer server = server(Toys.SPEC);
        GrpcSiteHost a = site(server, pki, "a", List.of("a"), new Toys.Toward("a", 1, 4));
        Hostile replayer = new Hostile(server.port(), pki.site("b"))) {
      replayer.register("b");
      await(() -> server.siteIds().size() == 2, "both joined");
      replayer.answerHonestly(new Toys.Toward("b", 1, 4));
      RoundResult first =
          Federation.builder(Toys.SPEC, server).rounds(1).build().run(Toys.zeros()).rounds().get(0);
      assertThat(first.succeeded()).isEqualTo(2);
      ResultChunk captured = replayer.lastAnswer();
      // The same answer again, once its task is done: refused, nothing disturbed.
      replayer.send(SiteMessage.newBuilder().setResult(captured).build());
      // An answer claiming another server run.
      replayer.send(
          SiteMessage.newBuilder()
              .setResult(captured.toBuilder().setRunId(ByteString.copyFrom(new byte[16])))
              .build());
      await(
          () -> events.stream().filter(e -> e.contains("certificate b")).count() >= 2,
          "two refusals");
      assertThat(events)
          .anySatisfy(
              e ->
                  assertThat(e)
                      .contains(
                          "an answer for task "
                              + captured.getTaskId()
                              + ", which is not outstanding (replayed or too late)"));
      assertThat(server.siteIds()).containsExactly("a", "b");
      // An oversized gRPC message: the server refuses it before reading it and drops that
      // stream; a keeps working.
      replayer.send(
          SiteMessage.newBuilder()
              .setResult(ResultChunk.newBuilder().setData(ByteString.copyFrom(new byte[3 << 20])))
              .build());
      await(() -> server.siteIds().equals(List.of("a")), "the oversized stream dropped");
      RoundResult after =
          Federation.builder(Toys.SPEC, server).rounds(1).build().run(Toys.zeros()).rounds().get(0);
      assertThat(after.succeeded()).isEqualTo(1);
    }
  }

  @Test
  void anInsecureServerListensOnLoopbackOnly() {
    assertThatThrownBy(
            () ->
                GrpcServer.builder(Toys.SPEC)
                    .listen(new InetSocketAddress("0.0.0.0", 0))
                    .insecure()
                    .build()
                    .start())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("an insecure server listens on loopback only");
    assertThatThrownBy(() -> GrpcServer.builder(Toys.SPEC).build())
        .hasMessageContaining("needs TLS files and an allow-list");
  }

  /** A raw site connection the test drives message by message. */
  private static final class Hostile implements AutoCloseable {
    private final ManagedChannel channel;
    private final StreamObserver<SiteMessage> out;
    private final BlockingQueue<ServerMessage> in = new LinkedBlockingQueue<>();
    private volatile ResultChunk lastAnswer;
    private volatile Client honest;

    Hostile(int port, TlsFiles tls) throws IOException {
      channel =
          NettyChannelBuilder.forAddress(
                  "localhost",
                  port,
                  TlsChannelCredentials.newBuilder()
                      .keyManager(tls.certificateChain().toFile(), tls.privateKey().toFile())
                      .trustManager(tls.trustedCa().toFile())
                      .build())
              .maxInboundMessageSize(Chunks.MAX_MESSAGE)
              .build();
      out =
          FederationGrpc.newStub(channel)
              .connect(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(ServerMessage m) {
                      if (honest != null && m.hasTask()) {
                        answer(m);
                      } else {
                        in.add(m);
                      }
                    }

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {}
                  });
    }

    void register(String id) {
      send(
          SiteMessage.newBuilder()
              .setRegister(
                  Register.newBuilder()
                      .setProtocolVersion(GrpcServer.PROTOCOL_VERSION)
                      .addSiteIds(id))
              .build());
    }

    synchronized void send(SiteMessage m) {
      out.onNext(m);
    }

    void answerHonestly(Client client) {
      honest = client;
    }

    ResultChunk lastAnswer() {
      return lastAnswer;
    }

    private void answer(ServerMessage m) {
      try {
        byte[] answer = ClientRuntime.of(honest).handle(m.getTask().getData().toByteArray());
        ResultChunk r =
            ResultChunk.newBuilder()
                .setSiteId(m.getTask().getSiteId())
                .setTaskId(m.getTask().getTaskId())
                .setRunId(m.getTask().getRunId())
                .setNonce(m.getTask().getNonce())
                .setTotalSize(answer.length)
                .setData(ByteString.copyFrom(answer))
                .setLast(true)
                .build();
        lastAnswer = r;
        send(SiteMessage.newBuilder().setResult(r).build());
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    }

    @Override
    public void close() {
      channel.shutdownNow();
    }
  }
}
