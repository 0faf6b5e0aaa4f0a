package io.mnistfl.fl.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.codec.http2.Http2FrameStream;
import io.grpc.stub.CallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.mnistfl.fl.Client;
import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.fl.SiteFailure;
import io.mnistfl.fl.grpc.proto.FederationGrpc;
import io.mnistfl.fl.grpc.proto.Register;
import io.mnistfl.fl.grpc.proto.ResultChunk;
import io.mnistfl.fl.grpc.proto.ServerMessage;
import io.mnistfl.fl.grpc.proto.SiteMessage;
import io.mnistfl.fl.grpc.proto.Welcome;
import io.mnistfl.fl.server.Federation;
import io.mnistfl.fl.server.StandardStrategy;
import io.mnistfl.fl.sim.InProcessTransport;
import io.mnistfl.fl.site.ClientRuntime;
import io.mnistfl.internal.Pem;
import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.model.Initializer;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import io.mnistfl.testing.Toys;
import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
      java.time.Instant joined = java.time.Instant.now();
      assertThat(server.connectedSites())
          .extracting(GrpcServer.ConnectedSite::siteId)
          .containsExactly("a", "b", "c");
      assertThat(server.connectedSites())
          .allSatisfy(
              s -> {
                assertThat(s.onTime()).isTrue();
                assertThat(s.lastHeard()).isBetween(joined.minusSeconds(10), joined.plusSeconds(1));
              });
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
      // b never heartbeats: it registers once a has joined, or it could be stale before a joins.
      await(() -> server.siteIds().equals(List.of("a")), "a joined");
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
      await(() -> server.siteIds().equals(List.of("a")), "a joined");
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

  private static GrpcServer.Builder serverWith(Path allowList) {
    return GrpcServer.builder(Toys.SPEC)
        .listen(new InetSocketAddress("127.0.0.1", 0))
        .tls(pki.server(), allowList)
        .heartbeat(Duration.ofSeconds(1))
        .events(RECORD);
  }

  private static GrpcSiteHost siteWith(
      int port, TlsFiles files, String id, GrpcSiteHost.Events siteEvents) throws IOException {
    Client client = new Toys.Toward(id, 1, 4);
    return GrpcSiteHost.builder("localhost", port)
        .tls(files)
        .sites(List.of(id))
        .runtimes(spec -> Map.of(id, ClientRuntime.of(client)))
        .heartbeat(Duration.ofSeconds(1))
        .backoff(Duration.ofMillis(100), Duration.ofMillis(400))
        .events(siteEvents)
        .build()
        .start();
  }

  private static long eventsWith(String text) {
    synchronized (events) {
      return events.stream().filter(e -> e.contains(text)).count();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Test
  void aMalformedAllowListIsRefusedNamingItsFileAndLine() throws IOException {
    Map<String, String> refused = new LinkedHashMap<>();
    refused.put("a\nb,c\n", ":2: not a certificate name: b,c");
    refused.put("a\n# x\na b\n", ":3: certificate a is listed twice (first on line 1)");
    refused.put("sim client-010..client-001\n", ":1: not a site id or a range");
    refused.put("sim client-1..client-010\n", ":1: not a site id or a range");
    refused.put("@revoked sha256:abcd\n", ":1: @revoked takes one sha256:<64 hex digits>");
    refused.put("@revoked serial:xyz\n", ":1: @revoked takes one sha256:<64 hex digits>");
    refused.put("@revoked\n", ":1: @revoked takes one sha256:<64 hex digits>");
    int n = 0;
    for (Map.Entry<String, String> e : refused.entrySet()) {
      Path file = Files.writeString(dir.resolve("malformed-" + n++ + ".txt"), e.getKey());
      assertThatThrownBy(() -> AllowList.read(file))
          .isInstanceOf(IOException.class)
          .hasMessageStartingWith(file + e.getValue());
    }
    Path bytes = Files.write(dir.resolve("latin1.txt"), new byte[] {'a', (byte) 0xe9, '\n'});
    assertThatThrownBy(() -> AllowList.read(bytes)).hasMessage(bytes + ": not UTF-8 text");
    AllowList good =
        AllowList.read(
            Files.writeString(
                dir.resolve("good.txt"),
                "# hosts\nsim client-000..client-499\na\n@revoked serial:0A:1b\n"
                    + "@revoked sha256:"
                    + "AB:".repeat(31)
                    + "AB\n"));
    assertThat(good.refusal("sim", "client-499")).isEmpty();
    assertThat(good.refusal("sim", "client-500"))
        .contains("certificate sim may not serve site client-500");
    assertThat(good.refusal("sim", "client-0499")).isPresent();
    CertificateId revokedBySerial =
        new CertificateId("a", BigInteger.valueOf(0x0a1b), "00".repeat(32));
    CertificateId revokedByHash = new CertificateId("a", BigInteger.ONE, "ab".repeat(32));
    CertificateId fine = new CertificateId("a", BigInteger.TWO, "00".repeat(32));
    assertThat(good.refusal(revokedBySerial))
        .hasValueSatisfying(r -> assertThat(r).contains("is revoked by").endsWith("good.txt:4"));
    assertThat(good.refusal(revokedByHash))
        .hasValueSatisfying(r -> assertThat(r).endsWith("good.txt:5"));
    assertThat(good.refusal(fine)).isEmpty();
    assertThat(good.refusal(fine, "b")).contains("certificate a may not serve site b");
  }

  @Test
  void theServerRefusesToStartOnAMissingMalformedOrOversizedAllowList() throws Exception {
    Path malformed = Files.writeString(dir.resolve("start-malformed.txt"), "a\nb,c\n");
    Path missing = dir.resolve("no-such-allowlist.txt");
    Path oversized = dir.resolve("start-oversized.txt");
    Files.writeString(oversized, ("#" + "x".repeat(1023) + "\n").repeat(4097));
    int port = freePort();
    Map<Path, String> why =
        Map.of(
            malformed, malformed + ":2: not a certificate name: b,c",
            missing, missing + ": no such allow-list file",
            oversized, oversized + ": larger than the allow-list's cap of 4194304 bytes");
    for (Map.Entry<Path, String> e : why.entrySet()) {
      GrpcServer refused =
          serverWith(e.getKey()).listen(new InetSocketAddress("127.0.0.1", port)).build();
      assertThatThrownBy(refused::start).isInstanceOf(IOException.class).hasMessage(e.getValue());
      // Nothing listens: the port is free for anyone else.
      try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
        assertThat(s.isBound()).isTrue();
      }
    }
  }

  @Test
  void aReloadErrorKeepsTheLastGoodListAndIsReportedOnce() throws Exception {
    events.clear();
    Path allow = Files.writeString(dir.resolve("reloaded.txt"), "a\n");
    try (GrpcServer server = serverWith(allow).build().start();
        GrpcSiteHost a = site(server, pki, "a", List.of("a"), new Toys.Toward("a", 1, 4))) {
      await(() -> server.siteIds().equals(List.of("a")), "a joined");
      Files.writeString(allow, "a\nb,c\n");
      await(() -> eventsWith("keeping the last good allow-list") == 1, "the reload error");
      assertThat(events)
          .contains(
              "server: "
                  + allow
                  + ":2: not a certificate name: b,c; keeping the last good allow-list");
      // The last good list still refuses mallory, whom the CA signed, as a.
      try (GrpcSiteHost mallory =
          site(server, pki, "mallory", List.of("a"), new Toys.Toward("a", 1, 100))) {
        await(
            () ->
                eventsWith("certificate mallory is not on the allow-list; refused at connect") >= 2,
            "mallory refused at connect");
        assertThat(mallory.awaitJoined(Duration.ofMillis(200))).isFalse();
      }
      Thread.sleep(2500); // the list is re-read every second: the error is said once
      assertThat(eventsWith("keeping the last good allow-list")).isEqualTo(1);
      Files.delete(allow);
      await(() -> eventsWith("no such allow-list file; keeping the last good") == 1, "deleted");
      assertThat(server.siteIds()).containsExactly("a");
      assertThat(eventsWith(" left: ")).isZero();
    }
  }

  /** A call's sending half that records how the server ended it. */
  private static final class Recording extends CallStreamObserver<ServerMessage> {
    volatile Status ended;

    @Override
    public boolean isReady() {
      return true;
    }

    @Override
    public void setOnReadyHandler(Runnable handler) {}

    @Override
    public void disableAutoInboundFlowControl() {}

    @Override
    public void request(int count) {}

    @Override
    public void setMessageCompression(boolean enable) {}

    @Override
    public void onNext(ServerMessage value) {}

    @Override
    public void onError(Throwable t) {
      ended = Status.fromThrowable(t);
    }

    @Override
    public void onCompleted() {
      ended = Status.OK;
    }
  }

  @Test
  void withoutAnAllowListEveryCertificateIsRefusedAtEveryStep() throws Exception {
    QuietEvents quiet = new QuietEvents(RECORD);
    Admission admission =
        new Admission(
            Optional.of(dir.resolve("never-read.txt")),
            quiet,
            Duration.ofSeconds(1),
            Duration.ofSeconds(10));
    X509Certificate cert = Pem.firstCertificate(pki.site("a").certificateChain());
    assertThat(admission.refusalAtHandshake(cert)).contains("no allow-list is loaded");
    Peer peer = new Peer(Optional.of(CertificateId.of(cert)), "/127.0.0.1:1", Optional.empty());
    assertThat(admission.admitCall(peer))
        .hasValueSatisfying(s -> assertThat(s.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED));
    Recording out = new Recording();
    SiteStream stream =
        admission.open(
            new SiteStream.Run(1 << 20, Welcome.newBuilder(), quiet), peer, new Outbound<>(out));
    admission.register(
        stream,
        Register.newBuilder()
            .setProtocolVersion(GrpcServer.PROTOCOL_VERSION)
            .addSiteIds("a")
            .build());
    assertThat(out.ended.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(out.ended.getDescription())
        .isEqualTo("no allow-list is loaded; every registration is refused");
    assertThat(admission.siteIds()).isEmpty();
    admission.connected(peer, true, Optional.empty());
    assertThat(peer.isCut()).isTrue();
  }

  @Test
  void anUnlistedCertificateIsRefusedAtConnectAndOpensNoStream() throws Exception {
    events.clear();
    Path allow = Files.writeString(dir.resolve("only-a.txt"), "a\n");
    try (GrpcServer server = serverWith(allow).build().start();
        GrpcSiteHost mallory =
            site(server, pki, "mallory", List.of("a"), new Toys.Toward("a", 1, 100))) {
      int most = 0;
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (eventsWith("certificate mallory is not on the allow-list; refused at connect") < 3
          && System.nanoTime() < end) {
        most = Math.max(most, server.openStreams());
        Thread.sleep(10);
      }
      assertThat(
              eventsWith(
                  "a peer presenting CN=mallory: certificate mallory is not on the allow-list; refused at connect"))
          .isGreaterThanOrEqualTo(3);
      assertThat(most).isZero();
      assertThat(mallory.awaitJoined(Duration.ofMillis(200))).isFalse();
      assertThat(server.siteIds()).isEmpty();
      // At the frame level too: the handshake fails, the server never speaks HTTP/2.
      try (RawHttp2 raw = new RawHttp2(server.port(), pki.site("mallory"))) {
        assertThat(raw.awaitClosed(10)).isTrue();
        assertThat(raw.awaitSettings(0)).isFalse();
      }
    }
  }

  @Test
  void streamsThatNeverRegisterAreCappedPerConnectionAndCutAtTheDeadline() throws Exception {
    events.clear();
    try (GrpcServer server =
            serverWith(pki.allowList())
                .registrationDeadline(Duration.ofSeconds(3))
                .build()
                .start();
        RawHttp2 raw = new RawHttp2(server.port(), pki.site("c"))) {
      assertThat(raw.awaitSettings(10)).isTrue();
      // 20 calls on one connection, ignoring the server's limit of 4.
      List<Http2FrameStream> calls = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        calls.add(raw.call());
      }
      raw.flush();
      await(() -> raw.endings.size() >= 20 - Caps.CALLS_PER_CONNECTION, "the excess refused");
      assertThat(raw.endedWith("RST_STREAM REFUSED_STREAM"))
          .isEqualTo(20 - Caps.CALLS_PER_CONNECTION);
      // Each admitted call holds most of a 900 KB message it never finishes, and never registers.
      List<Http2FrameStream> admitted =
          calls.stream().filter(c -> !raw.endings.containsKey(c.id())).toList();
      assertThat(admitted).hasSize(Caps.CALLS_PER_CONNECTION);
      for (Http2FrameStream call : admitted) {
        raw.partialMessage(call, 900_000, 800_000);
      }
      raw.flush();
      int most = 0;
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (raw.endings.size() < 20 && System.nanoTime() < end) {
        most = Math.max(most, server.openStreams());
        Thread.sleep(10);
      }
      assertThat(raw.endings).hasSize(20);
      assertThat(most).isLessThanOrEqualTo(Caps.CALLS_PER_CONNECTION);
      assertThat(admitted)
          .allSatisfy(
              c ->
                  assertThat(raw.endings.get(c.id()))
                      .isEqualTo("grpc-status 7 did not register within 3 s"));
      await(() -> server.openStreams() == 0, "no stream left");
      assertThat(events)
          .anySatisfy(
              e ->
                  assertThat(e)
                      .startsWith("certificate c at /127.0.0.1:")
                      .endsWith("did not register within 3 s"));
    }
  }

  @Test
  void oneCertificatesCallsAndConnectionsAreCapped() throws Exception {
    events.clear();
    List<RawHttp2> raws = new ArrayList<>();
    try (GrpcServer server = serverWith(pki.allowList()).build().start()) {
      for (int i = 0; i < Caps.CONNECTIONS_PER_CERTIFICATE; i++) {
        raws.add(new RawHttp2(server.port(), pki.site("c")));
        assertThat(raws.get(i).awaitSettings(10)).isTrue();
      }
      // Two calls on each connection: eight, of which one certificate may hold four.
      for (RawHttp2 raw : raws) {
        raw.call();
        raw.call();
        raw.flush();
      }
      await(
          () -> raws.stream().mapToLong(r -> r.endedWith("calls open")).sum() == 4,
          "four calls refused");
      assertThat(server.openStreams()).isEqualTo(Caps.CALLS_PER_CERTIFICATE);
      assertThat(raws.stream().flatMap(r -> r.endings.values().stream()).toList())
          .hasSize(4)
          .allSatisfy(
              e -> assertThat(e).startsWith("grpc-status 8 certificate c has 4 calls open"));
      // A fifth connection of the same certificate is cut; the four stay.
      RawHttp2 fifth = new RawHttp2(server.port(), pki.site("c"));
      raws.add(fifth);
      assertThat(fifth.awaitClosed(10)).isTrue();
      assertThat(raws.subList(0, 4)).allSatisfy(r -> assertThat(r.isOpen()).isTrue());
      assertThat(events)
          .anySatisfy(
              e -> assertThat(e).contains("5 connections of certificate c, above the cap of 4"));
    } finally {
      raws.forEach(RawHttp2::close);
    }
  }

  @Test
  void revokingACertificateCutsEveryConnectionOfItRegisteredOrNot() throws Exception {
    events.clear();
    Path allow = Files.writeString(dir.resolve("revoke-all.txt"), "a\nc\n");
    try (GrpcServer server =
            serverWith(allow).registrationDeadline(Duration.ofSeconds(60)).build().start();
        GrpcSiteHost a = site(server, pki, "a", List.of("a"), new Toys.Toward("a", 1, 4));
        Hostile registered = new Hostile(server.port(), pki.site("c"));
        RawHttp2 unregistered = new RawHttp2(server.port(), pki.site("c"))) {
      registered.register("c");
      await(() -> server.siteIds().equals(List.of("a", "c")), "a and c joined");
      assertThat(unregistered.awaitSettings(10)).isTrue();
      for (int i = 0; i < 3; i++) {
        unregistered.partialMessage(unregistered.call(), 900_000, 800_000);
      }
      unregistered.flush();
      await(() -> server.openStreams() == 5, "a's stream and c's four");
      Files.writeString(allow, "a\n");
      // Cut long before the 60 s registration deadline could.
      await(
          () -> !unregistered.isOpen() && registered.ended().isPresent(),
          "both of c's connections cut");
      assertThat(registered.ended().get().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      assertThat(registered.ended().get().getDescription())
          .isEqualTo("revoked by the allow-list: [c] (certificate c is not on the allow-list)");
      assertThat(events)
          .anySatisfy(
              e ->
                  assertThat(e)
                      .endsWith(
                          ": revoked by the allow-list (certificate c is not on the allow-list);"
                              + " its connection is cut"));
      await(() -> server.openStreams() == 1, "a's stream alone");
      assertThat(server.siteIds()).containsExactly("a");
      try (RawHttp2 again = new RawHttp2(server.port(), pki.site("c"))) {
        assertThat(again.awaitClosed(10)).isTrue();
      }
    }
  }

  @Test
  void aStolenKeyIsRevokedByFingerprintWhileTheReissuedCertificateServes() throws Exception {
    events.clear();
    Path own = dir.resolve("reissue");
    QuickStartPki.Layout layout =
        QuickStartPki.create(own, List.of("localhost", "127.0.0.1"), List.of("d", "e"));
    Path loot = Files.createDirectories(dir.resolve("stolen"));
    TlsFiles stolen =
        new TlsFiles(
            Files.copy(layout.site("d").certificateChain(), loot.resolve("d.pem")),
            Files.copy(layout.site("d").privateKey(), loot.resolve("d.key")),
            layout.caCertificate());
    List<String> thiefSaw = Collections.synchronizedList(new ArrayList<>());
    GrpcSiteHost.Events thiefEvents =
        new GrpcSiteHost.Events() {
          @Override
          public void joined(List<String> sites) {
            thiefSaw.add("joined " + sites);
          }

          @Override
          public void disconnected(String why, Duration retryIn) {
            thiefSaw.add(why);
          }
        };
    try (GrpcServer server =
            GrpcServer.builder(Toys.SPEC)
                .listen(new InetSocketAddress("127.0.0.1", 0))
                .tls(layout.server(), layout.allowList())
                .heartbeat(Duration.ofSeconds(1))
                .events(RECORD)
                .build()
                .start();
        GrpcSiteHost thief = siteWith(server.port(), stolen, "d", thiefEvents)) {
      await(() -> server.siteIds().equals(List.of("d")), "the thief joined as d");
      String fingerprint = QuickStartPki.reissue(own, "d");
      await(() -> server.siteIds().isEmpty(), "the thief cut");
      assertThat(events)
          .anySatisfy(
              e ->
                  assertThat(e)
                      .contains("revoked by the allow-list: [d] (certificate d (serial ")
                      .contains(
                          ", sha256 " + fingerprint + ") is revoked by " + layout.allowList()));
      try (GrpcSiteHost d =
          siteWith(server.port(), layout.site("d"), "d", new GrpcSiteHost.Events() {})) {
        assertThat(d.awaitJoined(Duration.ofSeconds(20))).isTrue();
        Thread.sleep(1500); // the thief keeps dialling, and is refused each time
        assertThat(server.siteIds()).containsExactly("d");
        assertThat(thiefSaw.stream().filter(s -> s.startsWith("joined"))).hasSize(1);
        assertThat(thiefSaw.size()).isGreaterThan(2);
      }
      // A serial, as openssl prints it, revokes e's certificate, which is cut.
      try (GrpcSiteHost e =
          siteWith(server.port(), layout.site("e"), "e", new GrpcSiteHost.Events() {})) {
        await(() -> server.siteIds().equals(List.of("e")), "e joined");
        String serial =
            Pem.firstCertificate(layout.site("e").certificateChain())
                .getSerialNumber()
                .toString(16);
        serial = (serial.length() % 2 == 1 ? "0" : "") + serial;
        String colons = String.join(":", serial.toUpperCase().split("(?<=\\G..)"));
        Files.writeString(
            layout.allowList(), "@revoked serial:" + colons + "\n", StandardOpenOption.APPEND);
        await(() -> server.siteIds().isEmpty(), "e revoked by its serial");
        int line = Files.readAllLines(layout.allowList()).size();
        assertThat(events)
            .anySatisfy(
                x -> assertThat(x).contains("is revoked by " + layout.allowList() + ":" + line));
      }
    }
  }

  @Test
  void rapidResetsGetTheConnectionClosed() throws Exception {
    try (GrpcServer server = server(Toys.SPEC);
        RawHttp2 raw = new RawHttp2(server.port(), pki.site("a"))) {
      assertThat(raw.awaitSettings(10)).isTrue();
      // Below the limit (200 in 30 s) a connection may cancel calls.
      for (int i = 0; i < 150; i++) {
        raw.reset(raw.call());
      }
      raw.flush();
      assertThat(raw.awaitClosed(2)).isFalse();
      // Then HEADERS and RST_STREAM in a tight loop, as in the rapid reset attack.
      int pairs = 150;
      while (raw.isOpen() && pairs < 100_000) {
        for (int i = 0; i < 100; i++) {
          raw.reset(raw.call());
          pairs++;
        }
        raw.flush();
        Thread.sleep(1);
      }
      assertThat(raw.awaitClosed(10)).isTrue();
      assertThat(pairs).isLessThan(20_000);
      // The server goes on serving.
      try (GrpcSiteHost a = site(server, pki, "a", List.of("a"), new Toys.Toward("a", 1, 4))) {
        await(() -> server.siteIds().equals(List.of("a")), "a joined after the flood");
      }
    }
  }

  @Test
  void answersForNoTaskAreCountedAndTheConnectionIsCutWithAQuietLog() throws Exception {
    events.clear();
    try (GrpcServer server = server(Toys.SPEC);
        Hostile flooder = new Hostile(server.port(), pki.site("b"))) {
      flooder.register("b");
      await(() -> server.siteIds().equals(List.of("b")), "b joined");
      for (int i = 0; i < 50_000 && flooder.ended().isEmpty(); i++) {
        flooder.send(
            SiteMessage.newBuilder()
                .setResult(
                    ResultChunk.newBuilder().setSiteId("b").setTaskId(1_000_000 + i).setLast(true))
                .build());
      }
      await(() -> flooder.ended().isPresent(), "the flooding stream cut");
      // The flooder may lose the trailers that say why: its connection is closed while it sends.
      assertThat(flooder.ended().get().getCode())
          .isIn(Status.Code.PERMISSION_DENIED, Status.Code.UNAVAILABLE);
      assertThat(events)
          .anySatisfy(
              e ->
                  assertThat(e)
                      .startsWith("certificate b at /127.0.0.1:")
                      .endsWith(
                          ": 100 messages refused on one connection (answers replayed, forged or"
                              + " for no task); its connection is cut"));
      await(() -> server.siteIds().isEmpty(), "b gone");
      Thread.sleep(500);
      assertThat(eventsWith("which is not outstanding")).isEqualTo(QuietEvents.LINES);
    }
  }

  @Test
  void anOldSiteIsRefusedNamingBothVersionsAndASiteStopsOnAnotherVersion() throws Exception {
    try (GrpcServer server = server(Toys.SPEC);
        Hostile old = new Hostile(server.port(), pki.site("b"))) {
      old.register("b", 1);
      await(() -> old.ended().isPresent(), "the old site refused");
      assertThat(old.ended().get().getDescription())
          .isEqualTo("protocol version 1, this server speaks 2");
    }
    Server newer =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                new FederationGrpc.FederationImplBase() {
                  @Override
                  public StreamObserver<SiteMessage> connect(StreamObserver<ServerMessage> out) {
                    return new StreamObserver<>() {
                      @Override
                      public void onNext(SiteMessage m) {
                        out.onNext(
                            ServerMessage.newBuilder()
                                .setWelcome(Welcome.newBuilder().setProtocolVersion(3))
                                .build());
                      }

                      @Override
                      public void onError(Throwable t) {}

                      @Override
                      public void onCompleted() {}
                    };
                  }
                })
            .build()
            .start();
    List<String> why = Collections.synchronizedList(new ArrayList<>());
    try (GrpcSiteHost site =
        GrpcSiteHost.builder("127.0.0.1", newer.getPort())
            .insecure()
            .sites(List.of("a"))
            .runtimes(spec -> Map.of())
            .backoff(Duration.ofMillis(100), Duration.ofMillis(400))
            .events(
                new GrpcSiteHost.Events() {
                  @Override
                  public void disconnected(String reason, Duration retryIn) {
                    why.add(reason);
                  }
                })
            .build()
            .start()) {
      await(() -> !why.isEmpty(), "the site stops");
      assertThat(why.get(0)).isEqualTo("the server speaks protocol version 3, this site speaks 2");
      assertThat(site.awaitJoined(Duration.ZERO)).isFalse();
    } finally {
      newer.shutdownNow();
    }
  }

  @Test
  void anInsecureSiteDialsLoopbackOnlyDecidedFromTheNameAlone() {
    // Built, never started: nothing is resolved or sent.
    for (String host :
        List.of(
            "localhost",
            "LocalHost",
            "127.0.0.1",
            "127.8.9.10",
            "::1",
            "[::1]",
            "0:0:0:0:0:0:0:1")) {
      assertThat(GrpcSiteHost.loopback(host)).as(host).isTrue();
      GrpcSiteHost.Builder b =
          GrpcSiteHost.builder(host, 1).insecure().sites(List.of("a")).runtimes(spec -> Map.of());
      assertThatCode(() -> b.build().close()).as(host).doesNotThrowAnyException();
    }
    for (String host :
        List.of(
            "10.0.0.1",
            "0.0.0.0",
            "::",
            "192.168.1.20",
            "127.0.0.256",
            "::ffff:10.0.0.1",
            "fl.example.org",
            "localhost.example.org",
            "127.0.0.1.example.org",
            "localhost.")) {
      assertThat(GrpcSiteHost.loopback(host)).as(host).isFalse();
      assertThatThrownBy(
              () ->
                  GrpcSiteHost.builder(host, 1)
                      .insecure()
                      .sites(List.of("a"))
                      .runtimes(spec -> Map.of())
                      .build())
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage(
              "an insecure site dials loopback only (localhost, 127.0.0.1, ::1), not " + host);
    }
  }

  @Test
  void keyFilesAreCreatedPrivateAndNeverWrittenThroughALink() throws Exception {
    Path out = dir.resolve("modes");
    QuickStartPki.Layout made = QuickStartPki.create(out, List.of("localhost"), List.of("k"));
    for (Path key :
        List.of(out.resolve("ca.key"), made.server().privateKey(), made.site("k").privateKey())) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
          .as(key.toString())
          .isEqualTo("rw-------");
    }
    for (Path folder : List.of(out, out.resolve("sites"))) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(folder)))
          .as(folder.toString())
          .isEqualTo("rwx------");
    }
    // A link planted where a key goes is refused, not followed.
    Path victim = Files.writeString(dir.resolve("victim.txt"), "the victim's data\n");
    Path planted = Files.createSymbolicLink(out.resolve("sites/planted.key"), victim);
    assertThatThrownBy(() -> QuickStartPki.addHost(out, "planted", "planted"))
        .isInstanceOf(IOException.class)
        .hasMessage(
            planted + ": exists already (a file or a link); it is never written over or through");
    assertThat(Files.readString(victim)).isEqualTo("the victim's data\n");
    assertThat(out.resolve("sites/planted.pem")).doesNotExist();
    assertThat(Files.readString(made.allowList())).doesNotContain("planted");
    // A dangling one: the file it names is not created.
    Path nowhere = dir.resolve("nowhere.key");
    Files.createSymbolicLink(out.resolve("sites/dangling.key"), nowhere);
    assertThatThrownBy(() -> QuickStartPki.addHost(out, "dangling", "dangling"))
        .isInstanceOf(IOException.class);
    assertThat(nowhere).doesNotExist();
    // A folder open to others, or a link in the folder's place, takes no keys.
    Path open = Files.createDirectories(dir.resolve("open"));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxr-xr-x"));
    assertThatThrownBy(() -> QuickStartPki.create(open, List.of("localhost"), List.of("k")))
        .hasMessage(
            open
                + ": open to others (rwxr-xr-x); keys go in a folder of mode 700 (chmod 700 "
                + open
                + ")");
    Path linked =
        Files.createSymbolicLink(
            dir.resolve("linked"), Files.createDirectories(dir.resolve("real")));
    assertThatThrownBy(() -> QuickStartPki.create(linked, List.of("localhost"), List.of("k")))
        .hasMessage(linked + ": not a folder (a file or a link); keys go in a folder");
    assertThat(dir.resolve("real/ca.key")).doesNotExist();
  }

  @Test
  void aReusedBuilderChangesNothingItBuilt() throws Exception {
    Path onlyA = Files.writeString(dir.resolve("builder-a.txt"), "a\n");
    Path onlyB = Files.writeString(dir.resolve("builder-b.txt"), "b\n");
    GrpcServer.Builder servers = serverWith(onlyA);
    GrpcServer built = servers.build();
    servers.tls(pki.server(), onlyB).heartbeat(Duration.ofSeconds(30));
    try (GrpcServer server = built.start()) {
      Client a = new Toys.Toward("a", 1, 4);
      GrpcSiteHost.Builder sites =
          GrpcSiteHost.builder("localhost", server.port())
              .tls(pki.site("a"))
              .sites(List.of("a"))
              .runtimes(spec -> Map.of("a", ClientRuntime.of(a)))
              .backoff(Duration.ofMillis(100), Duration.ofMillis(400));
      GrpcSiteHost host = sites.build();
      sites.tls(pki.site("b")).sites(List.of("b"));
      try (GrpcSiteHost started = host.start()) {
        assertThat(started.awaitJoined(Duration.ofSeconds(20))).isTrue();
        assertThat(server.siteIds()).containsExactly("a");
      }
    }
  }

  /** A raw site connection the test drives message by message. */
  private static final class Hostile implements AutoCloseable {
    private final ManagedChannel channel;
    private final StreamObserver<SiteMessage> out;
    private final BlockingQueue<ServerMessage> in = new LinkedBlockingQueue<>();
    private volatile ResultChunk lastAnswer;
    private volatile Client honest;
    private volatile Status ended;

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
                    public void onError(Throwable t) {
                      ended = Status.fromThrowable(t);
                    }

                    @Override
                    public void onCompleted() {
                      ended = Status.OK;
                    }
                  });
    }

    void register(String id) {
      register(id, GrpcServer.PROTOCOL_VERSION);
    }

    void register(String id, int version) {
      send(
          SiteMessage.newBuilder()
              .setRegister(Register.newBuilder().setProtocolVersion(version).addSiteIds(id))
              .build());
    }

    /** How the server ended the stream; empty while it is open. */
    Optional<Status> ended() {
      return Optional.ofNullable(ended);
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

  /** Captures what one logger logs, through java.util.logging, where System.Logger goes. */
  private static final class Captured extends java.util.logging.Handler implements AutoCloseable {
    final List<java.util.logging.LogRecord> records =
        Collections.synchronizedList(new ArrayList<>());
    private final java.util.logging.Logger logger;

    Captured(Class<?> of) {
      logger = java.util.logging.Logger.getLogger(of.getName());
      logger.addHandler(this);
    }

    @Override
    public void publish(java.util.logging.LogRecord r) {
      records.add(r);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {
      logger.removeHandler(this);
    }

    List<String> lines() {
      synchronized (records) {
        return records.stream()
            .map(
                r ->
                    r.getLevel()
                        + " "
                        + java.text.MessageFormat.format(
                            r.getMessage(),
                            r.getParameters() == null ? new Object[0] : r.getParameters()))
            .toList();
      }
    }
  }

  @Test
  void aFinishedFederationEndsItsSitesWhichStopDiallingAndAStoppedServerIsDialledAgain()
      throws Exception {
    List<String> disconnects = Collections.synchronizedList(new ArrayList<>());
    GrpcSiteHost.Events recordDisconnects =
        new GrpcSiteHost.Events() {
          @Override
          public void disconnected(String why, Duration retryIn) {
            disconnects.add(why);
          }
        };
    GrpcServer stopping = server(Toys.SPEC);
    try (GrpcSiteHost a =
        GrpcSiteHost.builder("localhost", stopping.port())
            .tls(pki.site("a"))
            .sites(List.of("a"))
            .runtimes(spec -> Map.of("a", ClientRuntime.of(new Toys.Toward("a", 1, 4))))
            .heartbeat(Duration.ofSeconds(1))
            .backoff(Duration.ofMillis(100), Duration.ofMillis(400))
            .events(recordDisconnects)
            .build()
            .start()) {
      assertThat(a.awaitJoined(Duration.ofSeconds(20))).isTrue();
      // A server that stops may resume: its site is told so and dials again.
      stopping.close();
      await(() -> disconnects.size() >= 2, "the site dialling the stopped server again");
      assertThat(disconnects.get(0))
          .isEqualTo("the server ended the stream (stopped): the server stopped");
      assertThat(a.awaitEnd(Duration.ofMillis(300))).isEmpty();
    }

    try (Captured serverLog = new Captured(GrpcServer.class);
        Captured siteLog = new Captured(GrpcSiteHost.class);
        GrpcServer server = server(Toys.SPEC);
        GrpcSiteHost a = site(server, pki, "a", List.of("a"), new Toys.Toward("a", 1, 4));
        GrpcSiteHost b = site(server, pki, "b", List.of("b"), new Toys.Toward("b", 1, 8));
        GrpcSiteHost thief =
            site(server, pki, "mallory", List.of("c"), new Toys.Toward("c", 1, 100))) {
      await(() -> server.siteIds().size() == 2, "two sites joined");
      // A host whose sites the server refuses is told so, and stops dialling.
      FederationEnd refused = thief.awaitEnd(Duration.ofSeconds(20)).orElseThrow();
      assertThat(refused)
          .isEqualTo(
              new FederationEnd(
                  FederationEnd.Reason.REFUSED, "certificate mallory may not serve site c"));
      federation(Toys.SPEC, server).rounds(1).build().run(Toys.zeros());
      server.finish("finished after 1 round");
      for (GrpcSiteHost site : List.of(a, b)) {
        FederationEnd end = site.awaitEnd(Duration.ofSeconds(20)).orElseThrow();
        assertThat(end.reason()).isEqualTo(FederationEnd.Reason.FINISHED);
        assertThat(end.detail()).isEqualTo("finished after 1 round");
        assertThat(end.isFinal()).isTrue();
      }
      // The library logs each event once, in one line, without a stack trace.
      await(
          () -> siteLog.lines().stream().filter(l -> l.contains("(finished)")).count() == 2,
          "the sites' log lines");
      assertThat(serverLog.lines())
          .anySatisfy(
              l ->
                  assertThat(l)
                      .matches("INFO certificate a at /127\\.0\\.0\\.1:\\d+ joined as \\[a\\]"))
          .anySatisfy(
              l ->
                  assertThat(l)
                      .startsWith("WARNING refused certificate mallory at /127.0.0.1:")
                      .endsWith("certificate mallory may not serve site c"));
      assertThat(siteLog.lines())
          .contains(
              "INFO joined as [a]",
              "INFO the server ended the stream (finished): finished after 1 round",
              "WARNING the server ended the stream (refused): certificate mallory may not serve"
                  + " site c");
      for (Captured log : List.of(serverLog, siteLog)) {
        assertThat(log.records).allSatisfy(r -> assertThat(r.getThrown()).isNull());
        assertThat(log.lines()).allSatisfy(l -> assertThat(l).doesNotContain("\n"));
      }
    }
  }
}
