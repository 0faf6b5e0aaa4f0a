package io.mnistfl.samples.serve;

import static org.assertj.core.api.Assertions.assertThat;

import io.mnistfl.fl.RoundResult;
import io.mnistfl.fl.SiteFailure;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.train.Json;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server in this JVM, on loopback: the write token, the runs API, the guard's hosts. */
class PageServerTest {
  static final HttpClient HTTP = HttpClient.newHttpClient();

  static HttpResponse<String> send(HttpRequest.Builder b) throws Exception {
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void withATokenSavingNeedsItAndOnlyIt(@TempDir Path dir) throws Exception {
    try (PageServer server =
        PageServer.builder()
            .port(0)
            .token("s3cret-token")
            .drawings(dir.resolve("drawings"))
            .runs(dir)
            .start()) {
      byte[] png = ServeSecurityTest.sevenPng();
      URI save = URI.create(server.url() + "api/drawings?label=7");
      HttpResponse<String> none =
          send(HttpRequest.newBuilder(save).POST(HttpRequest.BodyPublishers.ofByteArray(png)));
      assertThat(none.statusCode()).isEqualTo(401);
      assertThat(none.body()).contains("needs the token printed at start");
      HttpResponse<String> wrong =
          send(
              HttpRequest.newBuilder(save)
                  .header(Guard.TOKEN_HEADER, "guess")
                  .POST(HttpRequest.BodyPublishers.ofByteArray(png)));
      assertThat(wrong.statusCode()).isEqualTo(403);
      assertThat(dir.resolve("drawings")).doesNotExist();
      HttpResponse<String> right =
          send(
              HttpRequest.newBuilder(save)
                  .header(Guard.TOKEN_HEADER, "s3cret-token")
                  .POST(HttpRequest.BodyPublishers.ofByteArray(png)));
      assertThat(right.statusCode()).as(right.body()).isEqualTo(201);
      try (var files = Files.list(dir.resolve("drawings/7"))) {
        Path saved = files.findFirst().orElseThrow();
        assertThat(Files.readAllBytes(saved)).isEqualTo(png);
      }
      HttpResponse<String> info =
          send(HttpRequest.newBuilder(URI.create(server.url() + "api/info")));
      assertThat(info.body()).contains("\"tokenRequired\" : true");
      // Without a model, drawing is off and says how to turn it on.
      HttpResponse<String> predict =
          send(
              HttpRequest.newBuilder(URI.create(server.url() + "api/predict"))
                  .POST(HttpRequest.BodyPublishers.ofByteArray(png)));
      assertThat(predict.statusCode()).isEqualTo(404);
      assertThat(predict.body()).contains("start serve with --model DIR");
    }
  }

  @Test
  void aDashboardFollowsItsRunOnLoopbackAndSavesNoDrawings(@TempDir Path dir) throws Exception {
    Path run = dir.resolve("fed-live");
    try (Dashboard page = Dashboard.start(0, run)) {
      assertThat(page.url()).matches("http://127\\.0\\.0\\.1:\\d+/runs/fed-live");
      String base = page.url().substring(0, page.url().indexOf("/runs/") + 1);
      HttpResponse<String> rounds =
          send(HttpRequest.newBuilder(URI.create(base + "api/runs/fed-live/rounds")));
      assertThat(rounds.statusCode()).isEqualTo(200);
      assertThat(rounds.body()).contains("\"state\" : \"not started\"");
      HttpResponse<String> save =
          send(
              HttpRequest.newBuilder(URI.create(base + "api/drawings?label=7"))
                  .POST(HttpRequest.BodyPublishers.ofByteArray(ServeSecurityTest.sevenPng())));
      assertThat(save.statusCode()).isEqualTo(404);
      assertThat(save.body()).contains("saves no drawings");
      assertThat(send(HttpRequest.newBuilder(URI.create(base + "api/runs"))).body())
          .contains("\"fed-live\"");
    }
    assertThat(run.resolve("drawings")).doesNotExist();
  }

  @Test
  void aFederationsRoundsCarryFailuresTrafficPrivacyAndSites(@TempDir Path runs) throws Exception {
    Path run = Files.createDirectories(runs.resolve("fed-1"));
    Metrics m1 = Metrics.of(2, new int[] {0, 1, 1, 0}, new int[] {0, 1, 0, 0}, 0.5);
    Metrics m2 = Metrics.of(2, new int[] {0, 1, 1, 0}, new int[] {0, 1, 1, 0}, 0.25);
    List<RoundResult> rounds =
        List.of(
            new RoundResult(
                1,
                3,
                2,
                List.of(new SiteFailure("site-c", "timed out after 30 s")),
                4.5,
                0.5,
                0.7,
                Optional.of(m1),
                Optional.empty(),
                Optional.empty()),
            new RoundResult(
                2,
                3,
                3,
                List.of(),
                4.0,
                0.5,
                0.6,
                Optional.of(m2),
                Optional.empty(),
                Optional.empty()));
    Json.write(run.resolve("history.json"), rounds);
    long now = System.currentTimeMillis();
    Json.write(
        run.resolve(LiveStatus.FILE),
        new LiveStatus(
            "running",
            "listen",
            5,
            now,
            List.of(
                new LiveStatus.RoundTraffic(1, 1000, 2000, Optional.of(0.5)),
                new LiveStatus.RoundTraffic(2, 1100, 2100, Optional.of(0.8))),
            List.of(
                new LiveStatus.Site("site-a", now - 1000, true),
                new LiveStatus.Site("site-c", now - 40_000, false))));
    Runs.Rounds r = new Runs(Optional.of(runs), Optional.empty()).rounds("fed-1");
    assertThat(r.state()).isEqualTo("running");
    assertThat(r.planned()).contains(5);
    assertThat(r.rounds()).hasSize(2);
    Runs.Round first = r.rounds().get(0);
    assertThat(first.failed()).containsExactly(new SiteFailure("site-c", "timed out after 30 s"));
    assertThat(first.accuracy()).contains(0.75);
    assertThat(first.bytesToSites()).contains(1000L);
    assertThat(r.rounds().get(1).epsilon()).contains(0.8);
    assertThat(r.sites()).extracting(LiveStatus.Site::id).containsExactly("site-a", "site-c");
    // A listen server that stopped writing a minute ago is shown as stopped, not running.
    Json.write(
        run.resolve(LiveStatus.FILE),
        new LiveStatus("running", "listen", 5, now - 120_000, List.of(), List.of()));
    assertThat(new Runs(Optional.of(runs), Optional.empty()).rounds("fed-1").state())
        .isEqualTo("stopped");
  }

  @Test
  void aSymbolicLinkOutOfTheRunsFolderIsNoRun(@TempDir Path dir) throws Exception {
    Path runs = Files.createDirectories(dir.resolve("runs"));
    Path outside = Files.createDirectories(dir.resolve("outside"));
    Files.writeString(outside.resolve("history.json"), "[ ]");
    Files.createSymbolicLink(runs.resolve("link"), outside);
    Runs r = new Runs(Optional.of(runs), Optional.empty());
    assertThat(r.list()).isEmpty();
    assertThat(
            org.assertj.core.api.Assertions.catchThrowableOfType(
                    Refusal.Thrown.class, () -> r.folder("link"))
                .refusal
                .status())
        .isEqualTo(404);
  }

  @Test
  void theGuardKnowsLoopbackNamesAndNothingElse() {
    Guard g = Guard.of("127.0.0.1", 8080, Optional.empty());
    assertThat(g.hosts())
        .containsExactlyInAnyOrder("127.0.0.1:8080", "localhost:8080", "[::1]:8080");
    Optional<String> none = Optional.empty();
    assertThat(g.check("GET", "/", Optional.of("LOCALHOST:8080"), none, none, none)).isEmpty();
    assertThat(
            g.check("GET", "/", Optional.of("localhost.attacker.example:8080"), none, none, none))
        .map(Refusal::status)
        .contains(421);
    assertThat(g.check("GET", "/", Optional.of("localhost:8081"), none, none, none)).isPresent();
    assertThat(
            g.check(
                "POST",
                "/api/predict",
                Optional.of("localhost:8080"),
                Optional.of("http://localhost:8080"),
                none,
                none))
        .isEmpty();
    assertThat(
            g.check(
                "POST",
                "/api/predict",
                Optional.of("localhost:8080"),
                Optional.of("null"),
                none,
                none))
        .map(Refusal::status)
        .contains(403);
    assertThat(g.checkWrite(Optional.empty())).isEmpty();
  }
}
