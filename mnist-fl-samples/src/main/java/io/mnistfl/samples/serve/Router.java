package io.mnistfl.samples.serve;

import io.mnistfl.train.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * Every request: the guard first, then the pages, their scripts and the JSON endpoints. Bodies are
 * refused by their declared length before a byte is read, and cut off at the cap otherwise.
 */
final class Router extends Handler.Abstract {
  /** The largest picture body: a phone photo. */
  static final int MAX_PICTURE_BYTES = 10 << 20;

  /** The largest drawing body: the page's canvas as PNG is a few kilobytes. */
  static final int MAX_DRAWING_BYTES = 2 << 20;

  /** Bodies read at once; more wait a little, then get 429. */
  static final int MAX_UPLOADS = 4;

  private static final Pattern RUN =
      Pattern.compile("/api/runs/([^/]+)(?:/(rounds|epochs|events))?");
  private static final Pattern RUN_PAGE = Pattern.compile("/runs/([^/]+)");

  private static final String SECURITY_POLICY =
      "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self';"
          + " connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

  private final Guard guard;
  private final Optional<Predictor> predictor;
  private final Optional<Drawings> drawings;
  private final Runs runs;
  private final Events events;
  private final StaticFiles files;
  private final Semaphore uploads = new Semaphore(MAX_UPLOADS);

  Router(
      Guard guard,
      Optional<Predictor> predictor,
      Optional<Drawings> drawings,
      Runs runs,
      Events events,
      StaticFiles files) {
    this.guard = guard;
    this.predictor = predictor;
    this.drawings = drawings;
    this.runs = runs;
    this.events = events;
    this.files = files;
  }

  /**
   * What {@code /api/info} says of this server.
   *
   * @param model the model's name, when a model is loaded
   * @param drawings where saved drawings go, unless this server saves none
   * @param followed the run {@code --follow} names
   * @param tokenRequired whether saving needs the token (exposed with {@code --host})
   */
  @com.fasterxml.jackson.annotation.JsonInclude(
      com.fasterxml.jackson.annotation.JsonInclude.Include.NON_ABSENT)
  record Info(
      Optional<String> model,
      Optional<String> drawings,
      Optional<String> followed,
      boolean tokenRequired) {}

  @Override
  public boolean handle(Request request, Response response, Callback callback) {
    try {
      String method = request.getMethod();
      String rawPath = Optional.ofNullable(request.getHttpURI().getPath()).orElse("/");
      Optional<Refusal> refused =
          guard.check(
              method,
              rawPath,
              header(request, HttpHeader.HOST),
              header(request, HttpHeader.ORIGIN),
              header(request, "Sec-Fetch-Site"),
              header(request, "Sec-Fetch-Mode"));
      if (refused.isPresent()) {
        refuse(response, callback, refused.get());
        return true;
      }
      route(method, Request.getPathInContext(request), request, response, callback);
    } catch (Refusal.Thrown r) {
      refuse(response, callback, r.refusal);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      error(response, callback, 503, "the server is stopping");
    } catch (IOException | UncheckedIOException e) {
      error(response, callback, 500, e.getMessage());
    } catch (RuntimeException e) {
      error(response, callback, 500, "internal error: " + e);
    }
    return true;
  }

  private void route(
      String method, String path, Request request, Response response, Callback callback)
      throws Refusal.Thrown, IOException, InterruptedException {
    if (path.startsWith("/api/")) {
      routeApi(method, path, request, response, callback);
      return;
    }
    if (!method.equals("GET") && !method.equals("HEAD")) {
      throw Refusal.of(405, method + " " + Guard.clip(path) + ": pages are read with GET");
    }
    Optional<StaticFiles.File> file;
    if (path.equals("/") || path.equals("/index.html")) {
      file = files.get("index.html");
    } else if (path.equals("/runs") || path.equals("/runs/")) {
      file = files.get("runs.html");
    } else if (RUN_PAGE.matcher(path).matches()) {
      file = files.get("run.html");
    } else if (path.startsWith("/static/")) {
      file = files.get(path.substring("/static/".length()));
    } else {
      file = Optional.empty();
    }
    if (file.isEmpty()) {
      throw Refusal.of(404, "no page " + Guard.clip(path));
    }
    send(response, callback, 200, file.get().contentType(), file.get().bytes());
  }

  private void routeApi(
      String method, String path, Request request, Response response, Callback callback)
      throws Refusal.Thrown, IOException, InterruptedException {
    boolean get = method.equals("GET");
    boolean post = method.equals("POST");
    boolean writes = path.equals("/api/predict") || path.equals("/api/drawings");
    if (writes ? !post : !get) {
      throw Refusal.of(405, method + " " + Guard.clip(path) + ": use " + (writes ? "POST" : "GET"));
    }
    if (path.equals("/api/info")) {
      json(
          response,
          callback,
          new Info(
              predictor.map(p -> p.info().name()),
              drawings.map(d -> d.dir().toString()),
              runs.followedId(),
              guard.tokenRequired()));
    } else if (path.equals("/api/model")) {
      json(response, callback, model().info());
    } else if (path.equals("/api/predict")) {
      Predictor p = model();
      byte[] body = body(request, MAX_PICTURE_BYTES);
      try {
        json(response, callback, p.predict(body, "the picture"));
      } finally {
        uploads.release();
      }
    } else if (path.equals("/api/drawings")) {
      Drawings into =
          drawings.orElseThrow(
              () -> Refusal.of(404, "this page saves no drawings: it only shows a federation"));
      Optional<Refusal> token = guard.checkWrite(header(request, Guard.TOKEN_HEADER));
      if (token.isPresent()) {
        throw new Refusal.Thrown(token.get().status(), token.get().message());
      }
      String label = Request.extractQueryParameters(request).getValue("label");
      byte[] body = body(request, MAX_DRAWING_BYTES);
      try {
        response.setStatus(201);
        json(response, callback, into.save(label, body));
      } finally {
        uploads.release();
      }
    } else if (path.equals("/api/runs")) {
      json(response, callback, runs.list());
    } else {
      Matcher m = RUN.matcher(path);
      if (!m.matches()) {
        throw Refusal.of(404, "no endpoint " + Guard.clip(path));
      }
      String id = m.group(1);
      String part = m.group(2) == null ? "" : m.group(2);
      switch (part) {
        case "rounds" -> json(response, callback, runs.rounds(id));
        case "epochs" -> json(response, callback, runs.epochs(id));
        case "events" -> events.stream(id, response, callback);
        default -> json(response, callback, runs.summary(id, runs.folder(id)));
      }
    }
  }

  private Predictor model() throws Refusal.Thrown {
    return predictor.orElseThrow(
        () -> Refusal.of(404, "no model loaded: start serve with --model DIR to draw"));
  }

  /**
   * The request's body, at most {@code cap} bytes; holds one of the upload permits, which the
   * caller releases.
   */
  private byte[] body(Request request, int cap) throws Refusal.Thrown, InterruptedException {
    long declared = request.getLength();
    if (declared > cap) {
      throw Refusal.of(
          413,
          String.format("a body of %,d bytes is above the cap of %,d; not read", declared, cap));
    }
    if (!uploads.tryAcquire(5, TimeUnit.SECONDS)) {
      throw Refusal.of(429, "busy: " + MAX_UPLOADS + " uploads are being read; try again");
    }
    boolean done = false;
    try (InputStream in = Content.Source.asInputStream(request)) {
      byte[] bytes = in.readNBytes(cap + 1);
      if (bytes.length > cap) {
        throw Refusal.of(
            413,
            String.format("the body is above the cap of %,d bytes; the rest was not read", cap));
      }
      if (bytes.length == 0) {
        throw Refusal.of(400, "the body is empty: send the picture's bytes");
      }
      done = true;
      return bytes;
    } catch (IOException e) {
      throw Refusal.of(400, "the body could not be read: " + e.getMessage());
    } finally {
      if (!done) {
        uploads.release();
      }
    }
  }

  private static Optional<String> header(Request request, HttpHeader name) {
    return Optional.ofNullable(request.getHeaders().get(name));
  }

  private static Optional<String> header(Request request, String name) {
    HttpField field = request.getHeaders().getField(name);
    return field == null ? Optional.empty() : Optional.of(field.getValue());
  }

  static void json(Response response, Callback callback, Object value) {
    if (response.getStatus() == 0) {
      response.setStatus(200);
    }
    send(
        response,
        callback,
        response.getStatus(),
        "application/json; charset=utf-8",
        Json.toJson(value).getBytes(StandardCharsets.UTF_8));
  }

  private static void refuse(Response response, Callback callback, Refusal r) {
    if (r.status() == 413 || r.status() == 400) {
      // What was not read of the body is not worth reading: the connection closes after this.
      response.getHeaders().put(HttpHeader.CONNECTION, "close");
    }
    if (r.status() == 429) {
      response.getHeaders().put(HttpHeader.RETRY_AFTER, "1");
    }
    error(response, callback, r.status(), r.message());
  }

  static void error(Response response, Callback callback, int status, String message) {
    if (response.isCommitted()) {
      callback.failed(new IOException(message));
      return;
    }
    send(
        response,
        callback,
        status,
        "application/json; charset=utf-8",
        Json.toJson(Map.of("error", message == null ? "error" : message, "status", status))
            .getBytes(StandardCharsets.UTF_8));
  }

  static void send(Response response, Callback callback, int status, String type, byte[] bytes) {
    response.setStatus(status);
    securityHeaders(response);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, type);
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-store");
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, bytes.length);
    response.write(true, ByteBuffer.wrap(bytes), callback);
  }

  static void securityHeaders(Response response) {
    response.getHeaders().put("Content-Security-Policy", SECURITY_POLICY);
    response.getHeaders().put("X-Content-Type-Options", "nosniff");
    response.getHeaders().put("X-Frame-Options", "DENY");
    response.getHeaders().put("Referrer-Policy", "no-referrer");
    response.getHeaders().put("Cross-Origin-Resource-Policy", "same-origin");
  }
}
