package io.mnistfl.fl.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mnistfl.fl.Client;
import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.FedAvg;
import io.mnistfl.fl.Federation;
import io.mnistfl.fl.FederationHistory;
import io.mnistfl.fl.FederationListener;
import io.mnistfl.fl.FederationSettings;
import io.mnistfl.fl.InProcessTransport;
import io.mnistfl.fl.Messages;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.Weights;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Clients behind real sockets on localhost, each served by its own endpoint. */
class HttpTransportTest {
  private static final InetSocketAddress ANY_PORT = new InetSocketAddress("localhost", 0);

  /** Moves each weight halfway to {@code target}; a target of NaN makes it throw. */
  private record Toward(String id, int numExamples, float target) implements Client {
    @Override
    public ClientUpdate fit(Weights global, RoundConfig config) {
      if (Float.isNaN(target)) {
        throw new IllegalStateException("local data unreadable");
      }
      float[] v = global.arrays().get(0).values().clone();
      for (int i = 0; i < v.length; i++) {
        v[i] += (target - v[i]) / 2;
      }
      return new ClientUpdate(id, weights(v), numExamples, 0.25, 0.5);
    }

    @Override
    public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
      return new ClientEvaluation(id, numExamples, 0.5,
          ConfusionMatrix.of(2, new int[] {0, 1}, new int[] {0, 0}));
    }
  }

  private static Weights weights(float... v) {
    return new Weights(List.of(new Weights.NamedArray("w", new int[] {v.length}, v)));
  }

  private static Metrics evaluateNothing(Weights w) {
    return Metrics.of(2, new int[] {0}, new int[] {0}, 0);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void aFederationOverHttpMatchesTheInProcessOneAndSurvivesBadClients() throws Exception {
    List<Client> good = List.of(new Toward("a", 1, 4), new Toward("b", 3, 8));
    Client broken = new Toward("broken", 1, Float.NaN);
    try (ClientEndpoint a = ClientEndpoint.start(good.get(0), ANY_PORT);
        ClientEndpoint b = ClientEndpoint.start(good.get(1), ANY_PORT);
        ClientEndpoint c = ClientEndpoint.start(broken, ANY_PORT)) {
      Map<String, URI> clients = new LinkedHashMap<>();
      clients.put("a", a.uri());
      clients.put("b", b.uri());
      clients.put("broken", c.uri());
      clients.put("gone", URI.create("http://localhost:" + freePort() + "/"));
      FederationSettings settings = FederationSettings.defaults().withRounds(3)
          .withFederatedEvaluation(true).withParallelClients(4);

      FederationHistory overHttp = new Federation(
          new HttpTransport(clients, Duration.ofSeconds(30)), new FedAvg(),
          HttpTransportTest::evaluateNothing, settings, FederationListener.NONE)
          .run(weights(0, 0));
      FederationHistory inProcess = new Federation(new InProcessTransport(good), new FedAvg(),
          HttpTransportTest::evaluateNothing, settings, FederationListener.NONE)
          .run(weights(0, 0));

      assertThat(overHttp.finalWeights()).isEqualTo(inProcess.finalWeights());
      RoundResult round = overHttp.rounds().get(2);
      assertThat(round.succeeded()).isEqualTo(2);
      URI gone = clients.get("gone");
      assertThat(round.failures()).containsExactly(
          "broken: " + c.uri() + "fit answered HTTP 500: client broken failed:"
              + " java.lang.IllegalStateException: local data unreadable",
          "gone: " + gone + "fit: ConnectException",
          "gone (evaluate): " + gone + "evaluate: ConnectException");
      // a, b and broken (whose evaluation works) each send a two-example confusion matrix.
      assertThat(round.federated().orElseThrow().count()).isEqualTo(3 * 2);
    }
  }

  @Test
  void anEndpointRejectsAMalformedRequestWith400() throws Exception {
    try (ClientEndpoint a = ClientEndpoint.start(new Toward("a", 1, 4), ANY_PORT)) {
      HttpTransport http = new HttpTransport(Map.of("a", a.uri()), Duration.ofSeconds(30));
      byte[] request = Messages.encodeRequest(new RoundConfig(1, 1, 1, 0.1, 0, 1), weights(1));
      request[request.length - 1] ^= 1;
      assertThatThrownBy(() -> http.fit("a", request)).isInstanceOf(IOException.class)
          .hasMessageContaining("answered HTTP 400: request checksum mismatch");
    }
  }

  @Test
  void withASharedKeyOnlyItsHoldersTakePart() throws Exception {
    SharedKey key = SharedKey.of("federation-secret-0123".getBytes(StandardCharsets.UTF_8));
    SharedKey other = SharedKey.of("someone-else-entirely".getBytes(StandardCharsets.UTF_8));
    try (ClientEndpoint a = ClientEndpoint.start(new Toward("a", 1, 4), ANY_PORT, key);
        ClientEndpoint stranger = ClientEndpoint.start(new Toward("w", 1, 100), ANY_PORT, other);
        ClientEndpoint open = ClientEndpoint.start(new Toward("u", 1, 100), ANY_PORT)) {
      Map<String, URI> clients = new LinkedHashMap<>();
      clients.put("a", a.uri());
      clients.put("w", stranger.uri());
      clients.put("u", open.uri());
      HttpTransport signed = new HttpTransport(clients, Duration.ofSeconds(30)).signedWith(key);

      FederationHistory h = new Federation(signed, new FedAvg(),
          HttpTransportTest::evaluateNothing, FederationSettings.defaults().withRounds(1),
          FederationListener.NONE).run(weights(0, 0));

      // Only a moved the weights, halfway to its 4.
      assertThat(h.finalWeights()).isEqualTo(weights(2, 2));
      assertThat(h.rounds().get(0).failures()).containsExactly(
          "u: " + open.uri() + "fit answered without a valid " + SharedKey.HEADER
              + " for this request: not signed with the federation's shared key",
          "w: " + stranger.uri() + "fit answered HTTP 401: missing or wrong "
              + SharedKey.HEADER + ": this client answers only its federation's server, which"
              + " signs with their shared key");
      // A server without the key is turned away too.
      byte[] request = Messages.encodeRequest(new RoundConfig(1, 1, 1, 0.1, 0, 1), weights(1));
      assertThatThrownBy(() -> new HttpTransport(Map.of("a", a.uri()), Duration.ofSeconds(30))
          .fit("a", request)).hasMessageContaining("answered HTTP 401");
    }
  }

  @Test
  void aSignedAnswerReplayedForAnotherRequestIsRefused() throws Exception {
    SharedKey key = SharedKey.of("federation-secret-0123".getBytes(StandardCharsets.UTF_8));
    byte[] first = Messages.encodeRequest(new RoundConfig(1, 1, 1, 0.1, 0, 1), weights(1));
    byte[] second = Messages.encodeRequest(new RoundConfig(2, 1, 1, 0.1, 0, 2), weights(3));
    byte[] answer = Messages.encode(new ClientUpdate("r", weights(2), 1, 0, 0));
    HttpServer replayer = HttpServer.create(ANY_PORT, 0);
    replayer.createContext("/fit", exchange -> {
      try (exchange) {
        exchange.getRequestBody().readAllBytes();
        exchange.getResponseHeaders().set(SharedKey.HEADER, key.signResponse(first, answer));
        exchange.sendResponseHeaders(200, answer.length);
        exchange.getResponseBody().write(answer);
      }
    });
    replayer.start();
    try {
      HttpTransport signed = new HttpTransport(Map.of("r", URI.create("http://localhost:"
          + replayer.getAddress().getPort() + "/")), Duration.ofSeconds(30)).signedWith(key);
      assertThat(signed.fit("r", first)).isEqualTo(answer);
      assertThatThrownBy(() -> signed.fit("r", second)).isInstanceOf(IOException.class)
          .hasMessageContaining("answered without a valid " + SharedKey.HEADER);
    } finally {
      replayer.stop(0);
    }
  }

  @Test
  void aKeyFileMustHoldEnoughSecret(@TempDir Path dir) throws Exception {
    Path shortFile = Files.writeString(dir.resolve("short.key"), "  secret \n");
    assertThatThrownBy(() -> SharedKey.read(shortFile)).isInstanceOf(IOException.class)
        .hasMessage(shortFile + ": a shared key needs at least 16 bytes, the file holds 6");
    Path good = Files.writeString(dir.resolve("good.key"), "0123456789abcdef0123456789abcdef\n");
    assertThat(SharedKey.read(good).toString()).doesNotContain("0123");
    assertThatThrownBy(() -> SharedKey.of(new byte[8]))
        .hasMessage("a shared key needs at least 16 bytes, was 8");
  }

  @Test
  void clientListsAreParsedAndCheckedByName() {
    assertThat(HttpTransport.parseClients("x=http://h1:1/, y=http://h2:2"))
        .containsExactly(Map.entry("x", URI.create("http://h1:1/")),
            Map.entry("y", URI.create("http://h2:2")));
    assertThatThrownBy(() -> HttpTransport.parseClients("x=http://h:1,x=http://h:2"))
        .hasMessage("client x given twice");
    assertThatThrownBy(() -> HttpTransport.parseClients("http://h:1"))
        .hasMessage("expected id=uri, was 'http://h:1'");
    assertThatThrownBy(() -> new HttpTransport(Map.of("x", URI.create("ftp://h/")),
        Duration.ofSeconds(1))).hasMessage("client x: expected an http(s) URI, was ftp://h/");
  }
}
