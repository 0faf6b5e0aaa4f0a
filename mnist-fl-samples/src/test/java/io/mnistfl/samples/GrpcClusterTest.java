package io.mnistfl.samples;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.KnownLength;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.TlsChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.grpc.QuickStartPki;
import io.mnistfl.fl.grpc.proto.FederationGrpc;
import io.mnistfl.fl.grpc.proto.ServerMessage;
import io.mnistfl.fl.grpc.proto.SiteMessage;
import io.mnistfl.fl.grpc.proto.TaskChunk;
import io.mnistfl.fl.wire.Frame;
import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.model.Weights;
import io.mnistfl.model.WeightsCodec;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A federation of separate JVMs on loopback over mutual TLS, with certificates made by the test: a
 * server and three site processes, killed and restarted on purpose, and probed with hostile input.
 * Small (the baseline, 3,000 examples a site, one thread a process) and started once per scenario;
 * every child is killed in the end.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GrpcClusterTest {
  @TempDir static Path work;
  static QuickStartPki.Layout pki;
  static final List<Process> children = new ArrayList<>();
  static final Map<String, Process> sites = new java.util.concurrent.ConcurrentHashMap<>();
  static int port;

  @BeforeAll
  static void certificates() throws IOException {
    pki =
        QuickStartPki.create(
            work.resolve("pki"),
            List.of("localhost", "127.0.0.1"),
            List.of("site-a", "site-b", "site-c"));
  }

  @AfterAll
  static void killAll() {
    for (Process p : children) {
      p.destroyForcibly();
    }
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** Starts the CLI in a JVM of its own, output to {@code name}.log. */
  static Process cli(String name, String... args) throws IOException {
    List<String> command =
        new ArrayList<>(
            List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g",
                "-cp",
                System.getProperty("java.class.path"),
                Main.class.getName()));
    command.addAll(List.of(args));
    ProcessBuilder b =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(work.resolve(name + ".log").toFile());
    b.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    Process p = b.start();
    children.add(p);
    return p;
  }

  static Process server(String out, int rounds, String... more) throws IOException {
    return server(out, out, rounds, 3, more);
  }

  /** A server writing its log to {@code name}.log and its files to {@code out}. */
  static Process server(String name, String out, int rounds, int minSites, String... more)
      throws IOException {
    List<String> args =
        new ArrayList<>(
            List.of(
                "federate",
                "--model",
                "baseline",
                "--listen",
                "localhost:" + port,
                "--pki",
                pki.dir().toString(),
                "--min-sites",
                String.valueOf(minSites),
                "--site-wait",
                "120",
                "--rounds",
                String.valueOf(rounds),
                "--local-epochs",
                "2",
                "--threads",
                "1",
                "--out",
                work.resolve(out).toString()));
    args.addAll(List.of(more));
    return cli(name, args.toArray(String[]::new));
  }

  static Process site(String id, int index) throws IOException {
    Process p = startSite(id, index);
    sites.put(id, p);
    return p;
  }

  /**
   * The server told the sites the federation finished: each site process exits by itself, 0, saying
   * so; then fresh ones start for the next scenario.
   */
  static void sitesExitWhenFinishedThenRestart(String rounds) throws Exception {
    List<String> ids = List.of("site-a", "site-b", "site-c");
    for (String id : ids) {
      Process p = sites.get(id);
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).as(id + " exits by itself").isTrue();
      assertThat(p.exitValue()).as(id + " exit status").isZero();
    }
    for (String id : ids) {
      assertThat(log(siteLogs.get(id))).contains("the federation finished: " + rounds);
    }
    for (int i = 0; i < ids.size(); i++) {
      site(ids.get(i), i);
    }
  }

  /** Each site's current log, by id. */
  static final Map<String, String> siteLogs = new java.util.concurrent.ConcurrentHashMap<>();

  private static Process startSite(String id, int index) throws IOException {
    String name = id + "-" + System.nanoTime();
    siteLogs.put(id, name);
    return cli(
        name,
        "client",
        "--server",
        "localhost:" + port,
        "--pki",
        pki.dir().toString(),
        "--id",
        id,
        "--clients",
        "20",
        "--index",
        String.valueOf(index),
        "--threads",
        "1",
        "--max-backoff",
        "1",
        "--federated-eval",
        "0.1");
  }

  static String log(String name) throws IOException {
    Path file = work.resolve(name + ".log");
    return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
  }

  static void await(BooleanSupplier condition, int seconds, String what)
      throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        StringBuilder logs = new StringBuilder();
        try (var files = Files.list(work)) {
          for (Path f : files.filter(f -> f.toString().endsWith(".log")).sorted().toList()) {
            String text = Files.readString(f);
            if (System.getenv("CLUSTER_LOGS") != null) {
              Path copy = Path.of(System.getenv("CLUSTER_LOGS"));
              Files.createDirectories(copy);
              Files.writeString(copy.resolve(f.getFileName()), text);
            }
            logs.append("\n== ")
                .append(f.getFileName())
                .append('\n')
                .append(text.substring(Math.max(0, text.length() - 1500)));
          }
        } catch (IOException e) {
          logs.append(e);
        }
        throw new AssertionError("not within " + seconds + " s: " + what + logs);
      }
      Thread.sleep(50);
    }
  }

  static boolean logHas(String name, String text) {
    try {
      return log(name).contains(text);
    } catch (IOException e) {
      return false;
    }
  }

  static Weights finalWeights(String out) throws IOException {
    return WeightsCodec.decode(Files.readAllBytes(work.resolve(out).resolve("model/weights.bin")));
  }

  /** The inodes of the listening TCP sockets a process holds, from /proc. */
  static Set<String> listeningSockets(long pid) throws IOException {
    Set<String> mine = new HashSet<>();
    try (var fds = Files.list(Path.of("/proc", String.valueOf(pid), "fd"))) {
      for (Path fd : fds.toList()) {
        try {
          String target = Files.readSymbolicLink(fd).toString();
          if (target.startsWith("socket:[")) {
            mine.add(target.substring(8, target.length() - 1));
          }
        } catch (IOException e) {
          // closed meanwhile
        }
      }
    }
    Set<String> listening = new HashSet<>();
    for (String table : List.of("tcp", "tcp6")) {
      Path file = Path.of("/proc", String.valueOf(pid), "net", table);
      if (!Files.exists(file)) {
        continue;
      }
      for (String line : Files.readAllLines(file).subList(1, Files.readAllLines(file).size())) {
        String[] f = line.trim().split("\\s+");
        if (f[3].equals("0A") && mine.contains(f[9])) {
          listening.add(f[9]);
        }
      }
    }
    return listening;
  }

  static long rssKb(long pid) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D", ""));
      }
    }
    throw new IOException("no VmRSS for " + pid);
  }

  @Test
  @Order(1)
  void threeSiteProcessesFederateAndNoneListens() throws Exception {
    port = freePort();
    Process server = server("reference", 4);
    List<Process> sites = List.of(site("site-a", 0), site("site-b", 1), site("site-c", 2));
    await(() -> logHas("reference", "round 1 - 3/3 sites"), 120, "round 1 with three sites");
    for (Process s : sites) {
      assertThat(listeningSockets(s.pid())).as("listening sockets of a site").isEmpty();
    }
    assertThat(listeningSockets(server.pid())).hasSize(1);
    assertThat(server.waitFor(180, TimeUnit.SECONDS)).isTrue();
    assertThat(server.exitValue()).as(log("reference")).isZero();
    assertThat(log("reference"))
        .contains("round 4 - 3/3 sites")
        .contains("mutual TLS")
        .contains("traffic: ");
    sitesExitWhenFinishedThenRestart("finished after 4 rounds");
  }

  @Test
  @Order(2)
  void theServerKilledMidRunResumesAndEndsAsTheUninterruptedRun() throws Exception {
    Process first = server("resumed", 4);
    await(() -> logHas("resumed", "round 2 - 3/3 sites"), 180, "round 2");
    first.destroyForcibly().waitFor();
    // Killed after round 2's line: its checkpoint may or may not have been written whole.
    assertThat(work.resolve("resumed/checkpoints/round-000001")).isDirectory();
    Process again = server("resumed-again", "resumed", 4, 3, "--resume");
    try {
      assertThat(again.waitFor(180, TimeUnit.SECONDS)).isTrue();
    } finally {
      again.destroyForcibly();
    }
    assertThat(again.exitValue()).as(log("resumed-again")).isZero();
    assertThat(log("resumed-again"))
        .contains("resuming after round")
        .contains("round 4 - 3/3 sites");
    // The sites reconnected by themselves; same sites, same threads: the same weights.
    assertThat(finalWeights("resumed")).isEqualTo(finalWeights("reference"));
    sitesExitWhenFinishedThenRestart("finished after 4 rounds");
  }

  @Test
  @Order(3)
  void aSiteKilledMidRoundIsLeftOutAndRejoinsTheNextRound() throws Exception {
    Process server = server("killed-site", 3);
    await(() -> logHas("killed-site", "round 1 - 3/3 sites"), 120, "round 1");
    // Round 2 starts at once; its training takes a couple of seconds a site.
    Thread.sleep(300);
    sites.get("site-c").destroyForcibly().waitFor();
    site("site-c", 2);
    try {
      assertThat(server.waitFor(180, TimeUnit.SECONDS)).isTrue();
    } finally {
      server.destroyForcibly();
    }
    String out = log("killed-site");
    assertThat(out).containsPattern("round 2 - 2/3 sites.*site-c");
    assertThat(out).contains("round 3 - 3/3 sites");
    sitesExitWhenFinishedThenRestart("finished after 3 rounds");
  }

  @Test
  @Order(4)
  void secureAggregationOverGrpcLearnsAsThePlainRunDid() throws Exception {
    Process server = server("secure", 2, "--secure-aggregation");
    try {
      assertThat(server.waitFor(180, TimeUnit.SECONDS)).isTrue();
    } finally {
      server.destroyForcibly();
    }
    String out = log("secure");
    assertThat(server.exitValue()).as(out).isZero();
    assertThat(out)
        .contains("secure aggregation: {secureAggregation=SecAgg+")
        .contains("round 2 - 3/3 sites")
        .doesNotContain("abandoned");
    // The same sites and seeds as the reference run: only the 16-bit quantization differs.
    assertThat(accuracy("secure", 2))
        .isCloseTo(accuracy("reference", 2), org.assertj.core.data.Offset.offset(0.005));
    sitesExitWhenFinishedThenRestart("finished after 2 rounds");
  }

  /** The test accuracy on the line of round {@code round} of a server's log. */
  static double accuracy(String name, int round) throws IOException {
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("(?m)^round " + round + " - .* accuracy (0\\.\\d+)")
            .matcher(log(name));
    assertThat(m.find()).as("round " + round + " in " + name).isTrue();
    return Double.parseDouble(m.group(1));
  }

  @Test
  @Order(5)
  void hostileProbesAreRefusedWithoutCostingTheServer() throws Exception {
    Process server = server("probed", "probed", 1000, 1, "--federated-eval", "0.1");
    await(() -> logHas("probed", "round 2 - 3/3 sites"), 120, "two rounds");
    long idle = rssKb(server.pid());
    // Half a TLS record header, then silence: the handshake times out; rounds go on.
    try (Socket half = new Socket("localhost", port)) {
      half.getOutputStream().write(new byte[] {0x16, 0x03, 0x01});
      // A message declaring 2 GB, streamed lazily: refused before it is read.
      twoGigabyteMessage();
      int before = rounds("probed");
      await(() -> rounds("probed") >= before + 2, 120, "rounds after the probes");
    }
    // A forged 3-class matrix and a 65535-class one, from sites of our own.
    // The real site-b and site-c step aside, or they would take their ids back.
    sites.get("site-b").destroyForcibly().waitFor();
    sites.get("site-c").destroyForcibly().waitFor();
    try (RawSite forger = new RawSite("site-b", false)) {
      await(() -> logHas("probed", "a 3-class confusion matrix"), 120, "the 3-class refusal");
    }
    try (RawSite huge = new RawSite("site-c", true)) {
      await(() -> logHas("probed", "65535 classes need"), 120, "the 65535-class refusal");
    }
    long after = rssKb(server.pid());
    assertThat(log("probed")).doesNotContain("\tat ");
    System.out.printf("server RSS: idle %d MB, after the probes %d MB%n", idle >> 10, after >> 10);
    assertThat(after).isLessThan(2 * idle);
    assertThat(server.isAlive()).isTrue();
    server.destroyForcibly();
  }

  @Test
  @Order(6)
  void theReadmesThreeTerminalExampleRunsAsAScript() throws Exception {
    List<String> lines = Files.readAllLines(Path.of("src/test/resources/three-terminals.sh"));
    Path dir = Files.createDirectories(work.resolve("three-terminals"));
    int free = freePort();
    List<Process> started = new ArrayList<>();
    Process server = null;
    int n = 0;
    for (String line : lines) {
      if (!line.startsWith("java -jar $J ")) {
        continue;
      }
      // The same CLI as the jar, from the test's class path, on a free port.
      String[] args =
          line.substring("java -jar $J ".length())
              .replace("localhost:8470", "localhost:" + free)
              .split(" ");
      List<String> command =
          new ArrayList<>(
              List.of(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-cp",
                  System.getProperty("java.class.path"),
                  Main.class.getName()));
      command.addAll(List.of(args));
      command.addAll(List.of("--threads", "1").subList(0, args[0].equals("certs") ? 0 : 2));
      Process p =
          new ProcessBuilder(command)
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("terminal-" + n++ + ".log").toFile())
              .start();
      children.add(p);
      if (args[0].equals("certs")) {
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
      } else if (args[0].equals("federate")) {
        server = p;
      } else {
        started.add(p);
      }
    }
    assertThat(server).isNotNull();
    assertThat(started).hasSize(2);
    assertThat(server.waitFor(180, TimeUnit.SECONDS)).isTrue();
    String out = Files.readString(dir.resolve("terminal-1.log"));
    assertThat(server.exitValue()).as(out).isZero();
    assertThat(out).contains("mutual TLS").contains("round 3 - 2/2 sites");
    // Each terminal's site ends by itself once the server says the federation is over.
    for (Process site : started) {
      assertThat(site.waitFor(60, TimeUnit.SECONDS)).as("a site exits by itself").isTrue();
      assertThat(site.exitValue()).isZero();
    }
  }

  static int rounds(String name) {
    try {
      return (int) log(name).lines().filter(l -> l.startsWith("round ")).count();
    } catch (IOException e) {
      return 0;
    }
  }

  /** A gRPC call whose one message declares 2 GB, of which only a trickle is ever sent. */
  static void twoGigabyteMessage() throws Exception {
    ManagedChannel channel =
        NettyChannelBuilder.forAddress(
                "localhost",
                port,
                TlsChannelCredentials.newBuilder()
                    .keyManager(
                        pki.site("site-a").certificateChain().toFile(),
                        pki.site("site-a").privateKey().toFile())
                    .trustManager(pki.caCertificate().toFile())
                    .build())
            .build();
    try {
      MethodDescriptor.Marshaller<byte[]> lazy =
          new MethodDescriptor.Marshaller<>() {
            @Override
            public InputStream stream(byte[] value) {
              return new Declared(Integer.MAX_VALUE - 16);
            }

            @Override
            public byte[] parse(InputStream stream) {
              return new byte[0];
            }
          };
      MethodDescriptor<byte[], byte[]> method =
          MethodDescriptor.<byte[], byte[]>newBuilder()
              .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
              .setFullMethodName("mnistfl.v1.Federation/Connect")
              .setRequestMarshaller(lazy)
              .setResponseMarshaller(lazy)
              .build();
      ClientCall<byte[], byte[]> call = channel.newCall(method, CallOptions.DEFAULT);
      Status[] closed = new Status[1];
      call.start(
          new ClientCall.Listener<>() {
            @Override
            public void onClose(Status status, Metadata trailers) {
              closed[0] = status;
            }
          },
          new Metadata());
      call.request(1);
      call.sendMessage(new byte[0]);
      await(() -> closed[0] != null, 60, "the server refusing the 2 GB message");
      // Refused by gRPC's message cap as its header is read, or, on a machine too loaded to
      // read it sooner, cut by the registration deadline: either way before any byte is kept.
      if (closed[0].getCode() == Status.Code.PERMISSION_DENIED) {
        assertThat(closed[0].getDescription()).as(closed[0].toString()).contains("register");
      } else {
        assertThat(closed[0].getCode())
            .as(closed[0].toString())
            .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      }
    } finally {
      channel.shutdownNow();
    }
  }

  /** Claims {@code length} bytes and hands out zeros slowly, never holding them. */
  static final class Declared extends InputStream implements KnownLength {
    private long left;

    Declared(long length) {
      this.left = length;
    }

    @Override
    public int available() {
      return (int) Math.min(Integer.MAX_VALUE, left);
    }

    @Override
    public int read() {
      return left-- > 0 ? 0 : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (left <= 0) {
        return -1;
      }
      int n = (int) Math.min(Math.min(len, left), 1 << 16);
      java.util.Arrays.fill(b, off, off + n, (byte) 0);
      left -= n;
      return n;
    }
  }

  /**
   * A site of the test's own on a raw stream: it trains honestly (it sends back the global weights)
   * and answers every evaluation falsely, with a 3-class confusion matrix or with 29 bytes that
   * declare 65535 classes.
   */
  static final class RawSite implements AutoCloseable {
    private final ManagedChannel channel;
    private final StreamObserver<SiteMessage> out;
    private final Map<Long, java.io.ByteArrayOutputStream> tasks =
        new java.util.concurrent.ConcurrentHashMap<>();

    RawSite(String id, boolean declareHuge) throws IOException {
      channel =
          NettyChannelBuilder.forAddress(
                  "localhost",
                  port,
                  TlsChannelCredentials.newBuilder()
                      .keyManager(
                          pki.site(id).certificateChain().toFile(),
                          pki.site(id).privateKey().toFile())
                      .trustManager(pki.caCertificate().toFile())
                      .build())
              .maxInboundMessageSize(2 << 20)
              .build();
      out =
          FederationGrpc.newStub(channel)
              .connect(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(ServerMessage m) {
                      if (m.hasTask()) {
                        TaskChunk t = m.getTask();
                        java.io.ByteArrayOutputStream whole =
                            tasks.computeIfAbsent(
                                t.getTaskId(), k -> new java.io.ByteArrayOutputStream());
                        try {
                          t.getData().writeTo(whole);
                        } catch (IOException e) {
                          throw new java.io.UncheckedIOException(e);
                        }
                        if (t.getLast()) {
                          tasks.remove(t.getTaskId());
                          answer(t, whole.toByteArray(), declareHuge);
                        }
                      }
                    }

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {}
                  });
      send(
          SiteMessage.newBuilder()
              .setRegister(
                  io.mnistfl.fl.grpc.proto.Register.newBuilder()
                      .setProtocolVersion(io.mnistfl.fl.grpc.GrpcServer.PROTOCOL_VERSION)
                      .addSiteIds(id))
              .build());
      beats.scheduleAtFixedRate(
          () ->
              send(
                  SiteMessage.newBuilder()
                      .setHeartbeat(io.mnistfl.fl.grpc.proto.Heartbeat.getDefaultInstance())
                      .build()),
          1,
          1,
          TimeUnit.SECONDS);
    }

    private final java.util.concurrent.ScheduledExecutorService beats =
        java.util.concurrent.Executors.newSingleThreadScheduledExecutor();

    private synchronized void send(SiteMessage m) {
      out.onNext(m);
    }

    private void answer(TaskChunk t, byte[] request, boolean declareHuge) {
      try {
        io.mnistfl.fl.wire.Messages.Request r = io.mnistfl.fl.wire.Messages.decodeRequest(request);
        byte[] answer;
        if (!r.evaluate()) {
          answer =
              io.mnistfl.fl.wire.Messages.encode(
                  new ClientUpdate(t.getSiteId(), r.weights(), 10, 0.1, 0.5));
        } else if (declareHuge) {
          ByteBuffer b = Frame.start("MFLE", Frame.stringSize(t.getSiteId()) + 4 + 8 + 2);
          Frame.putString(b, t.getSiteId());
          b.putInt(1).putDouble(0.1).putShort((short) 65535);
          answer = Frame.finish(b);
        } else {
          answer =
              io.mnistfl.fl.wire.Messages.encode(
                  new io.mnistfl.fl.ClientEvaluation(
                      t.getSiteId(),
                      1000,
                      0.1,
                      ConfusionMatrix.fromCounts(
                          new long[][] {{1000, 0, 0}, {0, 0, 0}, {0, 0, 0}})));
        }
        int chunk = 1 << 20;
        for (int from = 0; from < answer.length || from == 0; from += chunk) {
          int n = Math.min(chunk, answer.length - from);
          send(
              SiteMessage.newBuilder()
                  .setResult(
                      io.mnistfl.fl.grpc.proto.ResultChunk.newBuilder()
                          .setSiteId(t.getSiteId())
                          .setTaskId(t.getTaskId())
                          .setRunId(t.getRunId())
                          .setNonce(t.getNonce())
                          .setTotalSize(answer.length)
                          .setData(ByteString.copyFrom(answer, from, n))
                          .setLast(from + n == answer.length))
                  .build());
          if (n == 0) {
            break;
          }
        }
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    }

    @Override
    public void close() {
      beats.shutdownNow();
      channel.shutdownNow();
    }
  }
}
