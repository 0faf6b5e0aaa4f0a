package io.mnistfl.samples.serve;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hostile probes of issue 23 against {@code serve} in a JVM of its own, on loopback: another
 * Host (DNS rebinding), another site's Origin (CSRF), {@code ../} in every form, a non-image, a
 * 50-megapixel picture, a 100 MB body (declared and streamed), many drawers at once. Each gets a
 * 4xx naming the problem, the server keeps answering, and its resident memory stays below 1.5× what
 * it was before the probes.
 */
class ServeSecurityTest {
  @TempDir static Path work;
  static Process server;
  static int port;
  static byte[] seven;

  @BeforeAll
  static void startServer() throws Exception {
    Path model = TestModel.get();
    Files.createDirectories(work.resolve("runs/a-run"));
    Files.writeString(work.resolve("runs/a-run/history.json"), "[ ]");
    Files.writeString(work.resolve("secret.txt"), "root:x:0:0 the secret");
    List<String> command =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            // A fixed heap ceiling: RSS then grows only by what the server keeps (native memory,
            // threads, buffers), not by the collector choosing to take more of a large machine.
            "-Xmx256m",
            "-cp",
            System.getProperty("java.class.path"),
            io.mnistfl.samples.Main.class.getName(),
            "serve",
            "--model",
            model.toString(),
            "--runs",
            work.resolve("runs").toString(),
            "--drawings",
            work.resolve("drawings").toString(),
            "--port",
            "0");
    ProcessBuilder b =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(work.resolve("serve.log").toFile());
    b.environment().put("TF_CPP_MIN_LOG_LEVEL", "2");
    server = b.start();
    Pattern address = Pattern.compile("serve: http://127\\.0\\.0\\.1:(\\d+)/");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (port == 0) {
      assertThat(server.isAlive()).as(log()).isTrue();
      assertThat(System.nanoTime()).as("serve did not start: " + log()).isLessThan(deadline);
      Matcher m = address.matcher(log());
      if (m.find()) {
        port = Integer.parseInt(m.group(1));
      }
      Thread.sleep(200);
    }
    seven = sevenPng();
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) {
      server.destroy();
      server.waitFor(20, TimeUnit.SECONDS);
    }
  }

  static String log() {
    try {
      return Files.readString(work.resolve("serve.log"));
    } catch (IOException e) {
      return "(no log)";
    }
  }

  static byte[] sevenPng() throws IOException {
    BufferedImage img = new BufferedImage(280, 280, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, 280, 280);
    g.setColor(Color.BLACK);
    g.setStroke(new BasicStroke(20, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
    g.drawPolyline(new int[] {70, 210, 120}, new int[] {60, 60, 230}, 3);
    g.dispose();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(img, "png", out);
    return out.toByteArray();
  }

  /** One raw HTTP/1.1 exchange, byte for byte as given: nothing normalizes the path. */
  static Answer raw(String requestHead, byte[] body) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(15_000);
      OutputStream out = s.getOutputStream();
      out.write(requestHead.getBytes(StandardCharsets.ISO_8859_1));
      out.write(body);
      out.flush();
      return Answer.read(s.getInputStream());
    }
  }

  static Answer get(String path, String... headers) throws IOException {
    StringBuilder head = new StringBuilder("GET " + path + " HTTP/1.1\r\n");
    boolean host = false;
    for (String h : headers) {
      head.append(h).append("\r\n");
      host |= h.toLowerCase().startsWith("host:");
    }
    if (!host) {
      head.append("Host: 127.0.0.1:").append(port).append("\r\n");
    }
    head.append("Connection: close\r\n\r\n");
    return raw(head.toString(), new byte[0]);
  }

  static Answer post(String path, byte[] body, String... headers) throws IOException {
    StringBuilder head = new StringBuilder("POST " + path + " HTTP/1.1\r\n");
    head.append("Host: 127.0.0.1:").append(port).append("\r\n");
    for (String h : headers) {
      head.append(h).append("\r\n");
    }
    head.append("Content-Length: ").append(body.length).append("\r\n");
    head.append("Connection: close\r\n\r\n");
    return raw(head.toString(), body);
  }

  record Answer(int status, String body) {
    static Answer read(InputStream in) throws IOException {
      String all = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      int status = Integer.parseInt(all.substring(9, 12));
      int split = all.indexOf("\r\n\r\n");
      return new Answer(status, split < 0 ? "" : all.substring(split + 4));
    }
  }

  static long rssKb() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/" + server.pid() + "/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", ""));
      }
    }
    throw new IOException("no VmRSS for " + server.pid());
  }

  @Test
  void everyHostileProbeGetsAClear4xxAndMemoryStaysFlat() throws Exception {
    // Warm up as a person would: a few drawings, the pages, the runs.
    for (int i = 0; i < 20; i++) {
      assertThat(post("/api/predict", seven, "Content-Type: image/png").status()).isEqualTo(200);
    }
    assertThat(get("/").status()).isEqualTo(200);
    assertThat(get("/api/runs").status()).isEqualTo(200);
    System.gc();
    long before = rssKb();

    List<String> failures = new ArrayList<>();
    for (int pass = 0; pass < 3; pass++) {
      probes(failures);
    }
    assertThat(failures).isEmpty();

    // Still up, still right.
    Answer after = post("/api/predict", seven, "Content-Type: image/png");
    assertThat(after.status()).isEqualTo(200);
    assertThat(after.body()).contains("\"verdict\"");
    long rss = rssKb();
    System.out.printf("serve RSS: %d MB before the probes, %d MB after%n", before >> 10, rss >> 10);
    assertThat(rss).as("RSS after the probes (kB) against 1.5x before").isLessThan(before * 3 / 2);
  }

  /** Each probe, its expected status and a word its message must hold. */
  private void probes(List<String> failures) throws Exception {
    expect(
        failures,
        "DNS-rebound Host",
        get("/api/runs", "Host: attacker.example:" + port),
        421,
        "not this server's address");
    expect(
        failures,
        "no Host at all",
        raw("GET /api/runs HTTP/1.0\r\n\r\n", new byte[0]),
        421,
        "Host");
    expect(
        failures,
        "cross-site POST (CSRF)",
        post(
            "/api/drawings?label=7",
            seven,
            "Origin: http://attacker.example",
            "Content-Type: image/png"),
        403,
        "another site");
    expect(
        failures,
        "cross-site fetch by Sec-Fetch-Site",
        post("/api/predict", seven, "Sec-Fetch-Site: cross-site", "Content-Type: image/png"),
        403,
        "another site");
    expect(
        failures,
        "Origin with another port",
        post("/api/predict", seven, "Origin: http://127.0.0.1:1"),
        403,
        "another site");
    for (String path :
        List.of(
            "/api/runs/../../secret.txt",
            "/runs/../../secret.txt",
            "/static/../../secret.txt",
            "/api/runs/..%2f..%2fsecret.txt",
            "/api/runs/%2e%2e/secret.txt",
            "/api/runs/%2E%2E%2F%2E%2E%2Fsecret.txt",
            "/static/..%5c..%5csecret.txt",
            "/api/runs/a-run/..%00/x",
            "/../secret.txt")) {
      Answer a = get(path);
      if (a.status() != 400 || a.body().contains("root:")) {
        failures.add(path + ": expected 400 without the file, got " + a);
      }
    }
    expect(
        failures,
        "a run id that is no folder name",
        get("/api/runs/.hidden/rounds"),
        400,
        "not a folder name");
    expect(
        failures,
        "a non-image",
        post("/api/predict", "hello, I am text".getBytes(StandardCharsets.UTF_8)),
        422,
        "not an image");
    expect(
        failures,
        "a 50-megapixel picture",
        post("/api/predict", PngHeaders.headerOnly(10_000, 5_000)),
        422,
        "(50.0 megapixels) is above the cap of 25.0");
    expect(failures, "an empty body", post("/api/predict", new byte[0]), 400, "empty");
    expect(
        failures,
        "a drawing that is not PNG",
        post("/api/drawings?label=3", "GIF89a....".getBytes(StandardCharsets.US_ASCII)),
        415,
        "PNG");
    expect(failures, "a bad label", post("/api/drawings?label=../../x", seven), 400, "one digit");
    expect(
        failures,
        "a wrong method",
        raw(
            "DELETE /api/runs HTTP/1.1\r\nHost: 127.0.0.1:"
                + port
                + "\r\nConnection: close\r\n\r\n",
            new byte[0]),
        405,
        "use GET");
    expect(failures, "100 MB declared", declared100Mb(), 413, "above the cap");
    expect(failures, "100 MB streamed, chunked", streamed100Mb(), 413, "above the cap");
    expect(
        failures,
        "headers of 64 kB",
        get("/api/runs", "X-Filler: " + "a".repeat(64 << 10)),
        431,
        "");
    concurrentDrawers(failures);
  }

  private static void expect(
      List<String> failures, String probe, Answer a, int status, String words) {
    if (a.status() != status || !a.body().contains(words)) {
      failures.add(probe + ": expected " + status + " with '" + words + "', got " + a);
    }
  }

  /** Declares 100 MB and goes on sending them: refused on the declaration, the rest unread. */
  private Answer declared100Mb() throws Exception {
    return sendingWhileReading(
        "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:"
            + port
            + "\r\nContent-Type: image/png\r\nContent-Length: 104857600\r\n\r\n",
        false);
  }

  /** Streams 100 MB in chunks without declaring a length: cut at the cap. */
  private Answer streamed100Mb() throws Exception {
    return sendingWhileReading(
        "POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1:"
            + port
            + "\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n",
        true);
  }

  /**
   * Sends {@code head}, then up to 100 MB of zeros (in HTTP chunks when {@code chunked}) on one
   * thread while this one reads the answer as it comes: a server that answers early and closes is
   * heard before its close can reset the connection. No answer at all is a failure (status 0).
   */
  private Answer sendingWhileReading(String head, boolean chunked) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(60_000);
      OutputStream out = s.getOutputStream();
      out.write(head.getBytes(StandardCharsets.ISO_8859_1));
      ExecutorService sender = Executors.newSingleThreadExecutor();
      try {
        Future<Long> sent =
            sender.submit(
                () -> {
                  byte[] chunk = new byte[64 << 10];
                  byte[] size = (Integer.toHexString(chunk.length) + "\r\n").getBytes();
                  long n = 0;
                  try {
                    while (n < (100L << 20)) {
                      if (chunked) {
                        out.write(size);
                      }
                      out.write(chunk);
                      if (chunked) {
                        out.write(new byte[] {'\r', '\n'});
                      }
                      n += chunk.length;
                    }
                    if (chunked) {
                      out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
                    }
                    out.flush();
                  } catch (IOException e) {
                    // The server answered and closed: what a client sending 100 MB should see.
                  }
                  return n;
                });
        ByteArrayOutputStream answer = new ByteArrayOutputStream();
        InputStream in = s.getInputStream();
        byte[] buffer = new byte[8192];
        try {
          for (int r; (r = in.read(buffer)) >= 0; ) {
            answer.write(buffer, 0, r);
          }
        } catch (IOException e) {
          // A reset after the answer: what was read is the answer.
        }
        long bytesSent = sent.get(60, TimeUnit.SECONDS);
        String text = answer.toString(StandardCharsets.UTF_8);
        if (text.length() < 12) {
          return new Answer(0, "no answer after " + bytesSent + " bytes sent: '" + text + "'");
        }
        int split = text.indexOf("\r\n\r\n");
        return new Answer(
            Integer.parseInt(text.substring(9, 12)), split < 0 ? "" : text.substring(split + 4));
      } finally {
        sender.shutdownNow();
      }
    }
  }

  /** 24 drawers, 6 drawings each, at once: every answer is a prediction or "busy, try again". */
  private void concurrentDrawers(List<String> failures) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(24);
    try {
      List<Future<Integer>> answers = new ArrayList<>();
      for (int i = 0; i < 24 * 6; i++) {
        answers.add(
            pool.submit(() -> post("/api/predict", seven, "Content-Type: image/png").status()));
      }
      int ok = 0;
      for (Future<Integer> f : answers) {
        int status = f.get(120, TimeUnit.SECONDS);
        if (status == 200) {
          ok++;
        } else if (status != 429) {
          failures.add("concurrent drawer: got " + status);
        }
      }
      if (ok == 0) {
        failures.add("concurrent drawers: no prediction at all");
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void pagesAndRunsAnswerForTheBoundAddressAndLocalhost() throws Exception {
    assertThat(get("/", "Host: localhost:" + port).status()).isEqualTo(200);
    Answer runs = get("/api/runs");
    assertThat(runs.status()).isEqualTo(200);
    assertThat(runs.body()).contains("\"a-run\"");
    assertThat(get("/api/runs/a-run/rounds").body()).contains("\"rounds\" : [ ]");
    // A top-level navigation from another site's link still opens the page.
    assertThat(get("/", "Sec-Fetch-Site: cross-site", "Sec-Fetch-Mode: navigate").status())
        .isEqualTo(200);
  }
}
