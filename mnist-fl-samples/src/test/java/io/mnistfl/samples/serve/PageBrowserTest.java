package io.mnistfl.samples.serve;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.mnistfl.data.DataSource;
import io.mnistfl.data.StandardDataset;
import io.mnistfl.fl.RoundResult;
import io.mnistfl.fl.SiteFailure;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.predict.Calibration;
import io.mnistfl.predict.VerdictRule;
import io.mnistfl.samples.MainAccess;
import io.mnistfl.tf.TfModel;
import io.mnistfl.train.Json;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.interactions.Actions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The page in a real browser: Debian's headless Chromium, driven through Debian's chromedriver by
 * Selenium (never a downloaded browser or driver). Draws a 7, uploads a photo-like picture, saves a
 * drawing, opens runs, and follows a two-round federation live until round 2 appears; saves a
 * screenshot of each page under target/screenshots/. Fails where Chromium is missing unless {@code
 * MNISTFL_SKIP_BROWSER=1} (or {@code -Dmnistfl.skipBrowser=true}) says to skip.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PageBrowserTest {
  static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  static final Path SHOTS = Path.of("target", "screenshots");

  @TempDir static Path work;
  static Path runs;
  static Path live;
  static PageServer server;
  static WebDriver browser;
  static CompletableFuture<String> federation;

  @BeforeAll
  static void start() throws Exception {
    if (Boolean.getBoolean("mnistfl.skipBrowser")
        || "1".equals(System.getenv("MNISTFL_SKIP_BROWSER"))) {
      Assumptions.abort(
          "browser test skipped: MNISTFL_SKIP_BROWSER=1 (install Debian's chromium and"
              + " chromium-driver to run it)");
    }
    if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(CHROMEDRIVER)) {
      fail(
          "the browser test needs Debian's chromium and chromium-driver (/usr/bin/chromium,"
              + " /usr/bin/chromedriver): `apt-get install chromium chromium-driver` (.ci/run does),"
              + " or set MNISTFL_SKIP_BROWSER=1 to skip it");
    }
    Path model = TestModel.get();
    runs = Files.createDirectories(work.resolve("runs"));
    live = runs.resolve("live-federation");
    writeListenRun(runs.resolve("listen-run"));
    server =
        PageServer.builder()
            .port(0)
            .predictor(
                new Predictor(
                    TfModel.load(model),
                    model,
                    Calibration.read(model),
                    VerdictRule.DEFAULT,
                    25_000_000L))
            .runs(runs)
            .follow(live)
            .drawings(work.resolve("drawings"))
            .start();
    Files.createDirectories(SHOTS);
    // Selenium is told where both binaries are, so it never looks for (or downloads) others.
    System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1300,1000",
        "--user-data-dir=" + Files.createDirectories(work.resolve("chromium-profile")));
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(CHROMEDRIVER.toFile())
            .usingAnyFreePort()
            .withLogFile(work.resolve("chromedriver.log").toFile())
            .build();
    browser = new ChromeDriver(service, options);
    browser.manage().timeouts().scriptTimeout(Duration.ofSeconds(30));
  }

  @AfterAll
  static void stop() throws Exception {
    if (browser != null) {
      browser.quit();
    }
    if (federation != null) {
      federation.get(5, TimeUnit.MINUTES);
    }
    if (server != null) {
      server.close();
    }
  }

  /** A finished --listen run with a failed site and two connected ones, as federate writes it. */
  static void writeListenRun(Path run) throws Exception {
    Files.createDirectories(run);
    Metrics m1 = Metrics.of(2, new int[] {0, 1, 1, 0}, new int[] {0, 1, 0, 0}, 0.5);
    Metrics m2 = Metrics.of(2, new int[] {0, 1, 1, 0}, new int[] {0, 1, 1, 0}, 0.3);
    Json.write(
        run.resolve("history.json"),
        List.of(
            new RoundResult(
                1,
                3,
                2,
                List.of(new SiteFailure("site-c", "missed its heartbeats")),
                3.5,
                0.4,
                0.6,
                Optional.of(m1),
                Optional.empty(),
                Optional.empty()),
            new RoundResult(
                2,
                3,
                3,
                List.of(),
                3.1,
                0.4,
                0.5,
                Optional.of(m2),
                Optional.empty(),
                Optional.empty())));
    long now = System.currentTimeMillis();
    Json.write(
        run.resolve(LiveStatus.FILE),
        new LiveStatus(
            "finished",
            "listen",
            2,
            now,
            List.of(
                new LiveStatus.RoundTraffic(1, 4_338_000, 2_169_000, Optional.of(1.25)),
                new LiveStatus.RoundTraffic(2, 6_507_000, 3_254_000, Optional.of(1.75))),
            List.of(
                new LiveStatus.Site("site-a", now - 2000, true),
                new LiveStatus.Site("site-b", now - 3000, true))));
  }

  static void open(String path) {
    browser.get(server.url() + path.substring(1));
  }

  static WebDriverWait waiting(int seconds) {
    return new WebDriverWait(browser, Duration.ofSeconds(seconds));
  }

  /** The whole page, not only what fits the window: the viewport is made as tall as the page. */
  static void screenshot(String name) throws Exception {
    Path file = SHOTS.resolve(name + ".png");
    long height = ((Number) js("return document.documentElement.scrollHeight;")).longValue();
    ChromeDriver chrome = (ChromeDriver) browser;
    chrome.executeCdpCommand(
        "Emulation.setDeviceMetricsOverride",
        java.util.Map.of(
            "width",
            1300,
            "height",
            Math.min(4000, height),
            "deviceScaleFactor",
            1,
            "mobile",
            false));
    try {
      Files.write(file, ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
    } finally {
      chrome.executeCdpCommand("Emulation.clearDeviceMetricsOverride", java.util.Map.of());
    }
    assertThat(Files.size(file)).isGreaterThan(5_000);
  }

  static Object js(String script, Object... args) {
    return ((JavascriptExecutor) browser).executeScript(script, args);
  }

  @Test
  @Order(1)
  void drawingASevenShowsASevenWithItsTopThreeAndTheInputTheModelSaw() throws Exception {
    open("/");
    WebElement pad = browser.findElement(By.id("pad"));
    new Actions(browser)
        .moveToElement(pad, -75, -85)
        .clickAndHold()
        .moveByOffset(50, 0)
        .moveByOffset(50, 0)
        .moveByOffset(50, 0)
        .moveByOffset(-30, 60)
        .moveByOffset(-30, 60)
        .moveByOffset(-30, 60)
        .release()
        .perform();
    WebElement verdict = browser.findElement(By.id("verdict"));
    waiting(30)
        .until(
            d ->
                !"none".equals(verdict.getAttribute("data-verdict"))
                    && d.findElements(By.cssSelector("#top li")).size() == 3);
    List<WebElement> top = browser.findElements(By.cssSelector("#top li"));
    assertThat(top.get(0).getAttribute("data-digit")).isEqualTo("7");
    assertThat(verdict.getAttribute("data-verdict")).isEqualTo("digit");
    assertThat(verdict.getText()).isEqualTo("7");
    assertThat(browser.findElement(By.id("reason")).getText()).startsWith("calibrated probability");
    // The 28x28 input the model saw is drawn: MNIST-like, some ink, mostly background.
    int ink = Integer.parseInt(browser.findElement(By.id("input")).getAttribute("data-ink"));
    assertThat(ink).isBetween(40, 300);
    screenshot("draw");

    new Select(browser.findElement(By.id("label"))).selectByVisibleText("7");
    browser.findElement(By.id("save")).click();
    WebElement saved = browser.findElement(By.id("saved"));
    waiting(20).until(d -> saved.getAttribute("data-path") != null);
    Path file = work.resolve("drawings").resolve(saved.getAttribute("data-path"));
    assertThat(file).isRegularFile().hasParent(work.resolve("drawings/7"));

    browser.findElement(By.id("clear")).click();
    waiting(5).until(d -> "none".equals(verdict.getAttribute("data-verdict")));
  }

  @Test
  @Order(2)
  void anUploadedPhotoIsPredictedAndItsPreprocessedInputShown() throws Exception {
    DataSource test = StandardDataset.MNIST.load().test();
    int index = 3; // a 0, photographed dark-on-light as a JPEG-like scan
    Path photo = MainAccess.handwriting(test, index, work, new Random(3));
    open("/");
    browser.findElement(By.id("upload")).sendKeys(photo.toAbsolutePath().toString());
    WebElement verdict = browser.findElement(By.id("verdict"));
    waiting(30).until(d -> !"none".equals(verdict.getAttribute("data-verdict")));
    assertThat(browser.findElement(By.id("preview")).isDisplayed()).isTrue();
    List<WebElement> top = browser.findElements(By.cssSelector("#top li"));
    assertThat(top.get(0).getAttribute("data-digit")).isEqualTo(String.valueOf(test.label(index)));
    assertThat(Integer.parseInt(browser.findElement(By.id("input")).getAttribute("data-ink")))
        .isGreaterThan(30);
    screenshot("upload");
  }

  @Test
  @Order(3)
  void followsARunningFederationUntilRoundTwoWithoutReloading() throws Exception {
    open("/runs/live-federation");
    waiting(10).until(d -> d.findElement(By.id("summary")).getText().contains("not started"));
    js("window.notReloaded = true;");
    int dashboardPort;
    try (java.net.ServerSocket free = new java.net.ServerSocket(0)) {
      dashboardPort = free.getLocalPort();
    }
    federation =
        CompletableFuture.supplyAsync(
            () ->
                TestModel.cli(
                    "federate",
                    "--model",
                    "baseline",
                    "--clients",
                    "2",
                    "--rounds",
                    "2",
                    "--workers",
                    "1",
                    "--dashboard",
                    String.valueOf(dashboardPort),
                    "--out",
                    live.toString()));
    // federate --dashboard serves the same run on a page of its own while it runs.
    java.net.http.HttpClient http =
        java.net.http.HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    java.net.http.HttpRequest dashboardRounds =
        java.net.http.HttpRequest.newBuilder(
                java.net.URI.create(
                    "http://127.0.0.1:" + dashboardPort + "/api/runs/live-federation/rounds"))
            .timeout(Duration.ofSeconds(5))
            .build();
    String dashboardSaw = null;
    boolean sawRoundOneAlone = false;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
    while (browser.findElements(By.cssSelector("#rounds tbody tr[data-round='2']")).isEmpty()) {
      assertThat(System.nanoTime()).as("round 2 did not appear within 150 s").isLessThan(deadline);
      assertThat(federation.isCompletedExceptionally()).as("the federation failed").isFalse();
      if (dashboardSaw == null) {
        try {
          java.net.http.HttpResponse<String> r =
              http.send(dashboardRounds, java.net.http.HttpResponse.BodyHandlers.ofString());
          if (r.statusCode() == 200 && r.body().contains("\"round\" : 1")) {
            dashboardSaw = r.body();
          }
        } catch (java.io.IOException e) {
          // Not listening yet: federate is still loading its data.
        }
      }
      int rows = browser.findElements(By.cssSelector("#rounds tbody tr")).size();
      if (rows == 1) {
        if (!sawRoundOneAlone) {
          screenshot("live");
        }
        sawRoundOneAlone = true;
      }
      Thread.sleep(200);
    }
    assertThat(sawRoundOneAlone).as("round 1's line appeared before round 2's").isTrue();
    assertThat(js("return window.notReloaded === true;")).isEqualTo(true);
    federation.get(2, TimeUnit.MINUTES);
    assertThat(dashboardSaw)
        .as("federate --dashboard showed round 1 while the federation ran")
        .contains("\"id\" : \"live-federation\"")
        .contains("\"mode\" : \"simulation\"");
    // The dashboard stopped with the federation.
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> http.send(dashboardRounds, java.net.http.HttpResponse.BodyHandlers.ofString()))
        .isInstanceOf(java.io.IOException.class);
    waiting(20)
        .until(d -> "finished".equals(d.findElement(By.id("summary")).getAttribute("data-state")));
    assertThat(js("return window.notReloaded === true;")).isEqualTo(true);
    checkCurves(live);
    screenshot("run");
  }

  /** Every round of history.json is a point of every curve, with its value. */
  static void checkCurves(Path run) throws Exception {
    List<RoundResult> rounds = Json.readList(run.resolve("history.json"), RoundResult.class);
    assertThat(rounds).isNotEmpty();
    check("chart-accuracy", rounds, r -> r.test().orElseThrow().accuracy());
    check("chart-loss", rounds, r -> r.test().orElseThrow().loss());
    check("chart-precision", rounds, r -> r.test().orElseThrow().macro().precision());
    check("chart-recall", rounds, r -> r.test().orElseThrow().macro().recall());
    check("chart-f1", rounds, r -> r.test().orElseThrow().macro().f1());
  }

  static void check(String chart, List<RoundResult> rounds, ToDoubleFunction<RoundResult> value) {
    List<WebElement> dots =
        browser.findElements(By.cssSelector("#" + chart + " .series[data-series] circle"));
    assertThat(dots).as(chart).hasSize(rounds.size());
    for (int i = 0; i < rounds.size(); i++) {
      assertThat(Integer.parseInt(dots.get(i).getAttribute("data-x")))
          .isEqualTo(rounds.get(i).round());
      assertThat(Double.parseDouble(dots.get(i).getAttribute("data-value")))
          .as(chart + " round " + rounds.get(i).round())
          .isCloseTo(
              value.applyAsDouble(rounds.get(i)), org.assertj.core.data.Offset.offset(1e-12));
    }
  }

  @Test
  @Order(4)
  void aListenRunShowsFailuresTrafficPrivacyAndItsSites() throws Exception {
    open("/runs/listen-run");
    waiting(20).until(d -> d.findElements(By.cssSelector("#rounds tbody tr")).size() == 2);
    checkCurves(runs.resolve("listen-run"));
    String round1 =
        browser.findElement(By.cssSelector("#rounds tbody tr[data-round='1']")).getText();
    assertThat(round1)
        .contains("site-c: missed its heartbeats")
        .contains("4.34 MB")
        .contains("1.250");
    assertThat(browser.findElement(By.id("summary")).getText()).contains("DP ε so far 1.750");
    assertThat(browser.findElements(By.cssSelector("#sites tbody tr"))).hasSize(2);
    assertThat(browser.findElement(By.id("sites")).getText())
        .contains("site-a")
        .contains("on time");
    screenshot("run-listen");
  }

  @Test
  @Order(5)
  void theRunsPageListsEveryRun() throws Exception {
    open("/runs");
    waiting(20).until(d -> d.findElements(By.cssSelector("#runs tbody tr")).size() == 2);
    assertThat(
            browser
                .findElement(By.cssSelector("#runs tbody tr[data-run='live-federation']"))
                .getText())
        .contains("federation")
        .contains("2 / 2");
    assertThat(browser.findElement(By.id("nav-live")).getText()).isEqualTo("Live: live-federation");
    screenshot("runs");
    // Selenium found the driver and the browser where it was told and fetched nothing.
    assertThat(new File(System.getProperty("user.home"), ".cache/selenium/chromedriver"))
        .doesNotExist();
  }
}
