package io.mnistfl.fl.http;

import io.mnistfl.fl.Transport;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A {@link Transport} to clients served by {@link ClientEndpoint}s over HTTP: each call is one
 * {@code POST} of the request's bytes to {@code <client URI>/fit} or {@code /evaluate}, answered
 * with the client's bytes. {@link #signedWith} signs each request and accepts only answers
 * signed with the same {@link SharedKey}. Uses the JDK's HTTP client; safe for concurrent calls.
 */
public final class HttpTransport implements Transport {
  private final Map<String, URI> clients;
  private final HttpClient http;
  private final Duration callTimeout;
  private final Optional<SharedKey> key;

  /**
   * @param clients each client's id and base URI, e.g. {@code http://10.0.0.7:8471/}
   * @param callTimeout how long one call may take, training included
   */
  public HttpTransport(Map<String, URI> clients, Duration callTimeout) {
    this(clients, callTimeout, Optional.empty());
  }

  private HttpTransport(Map<String, URI> clients, Duration callTimeout,
      Optional<SharedKey> key) {
    if (clients.isEmpty()) {
      throw new IllegalArgumentException("no clients given");
    }
    for (Map.Entry<String, URI> c : clients.entrySet()) {
      String scheme = c.getValue().getScheme();
      if (!"http".equals(scheme) && !"https".equals(scheme)) {
        throw new IllegalArgumentException(
            "client " + c.getKey() + ": expected an http(s) URI, was " + c.getValue());
      }
    }
    this.clients = new LinkedHashMap<>(clients);
    this.callTimeout = callTimeout;
    this.key = key;
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  }

  /**
   * The same clients, each request signed with {@code key} and each answer refused unless
   * signed with it for that request.
   */
  public HttpTransport signedWith(SharedKey key) {
    return new HttpTransport(clients, callTimeout, Optional.of(key));
  }

  /**
   * Parses {@code id=uri} pairs separated by commas, e.g. {@code
   * site-a=http://10.0.0.7:8471,site-b=http://10.0.0.8:8471}.
   */
  public static Map<String, URI> parseClients(String text) {
    Map<String, URI> out = new LinkedHashMap<>();
    for (String pair : text.split(",")) {
      int eq = pair.indexOf('=');
      if (eq <= 0 || eq == pair.length() - 1) {
        throw new IllegalArgumentException("expected id=uri, was '" + pair + "'");
      }
      String id = pair.substring(0, eq).trim();
      if (out.put(id, URI.create(pair.substring(eq + 1).trim())) != null) {
        throw new IllegalArgumentException("client " + id + " given twice");
      }
    }
    return out;
  }

  @Override
  public List<String> clientIds() {
    return new ArrayList<>(clients.keySet());
  }

  @Override
  public byte[] fit(String clientId, byte[] request) throws IOException {
    return post(clientId, "fit", request);
  }

  @Override
  public byte[] evaluate(String clientId, byte[] request) throws IOException {
    return post(clientId, "evaluate", request);
  }

  private byte[] post(String clientId, String path, byte[] body) throws IOException {
    URI base = clients.get(clientId);
    if (base == null) {
      throw new IOException("unknown client " + clientId);
    }
    URI uri = base.resolve(base.getPath().endsWith("/") ? path : base.getPath() + "/" + path);
    HttpRequest.Builder builder = HttpRequest.newBuilder(uri).timeout(callTimeout)
        .header("Content-Type", ClientEndpoint.CONTENT_TYPE)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    key.ifPresent(k -> builder.header(SharedKey.HEADER, k.signRequest(path, body)));
    HttpRequest request = builder.build();
    HttpResponse<byte[]> response;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while calling " + uri, e);
    } catch (IOException e) {
      throw new IOException(uri + ": " + describe(e), e);
    }
    if (response.statusCode() != 200) {
      throw new IOException(uri + " answered HTTP " + response.statusCode() + ": "
          + new String(response.body(), StandardCharsets.UTF_8).strip());
    }
    if (key.isPresent() && !SharedKey.matches(response.headers().firstValue(SharedKey.HEADER),
        key.get().signResponse(body, response.body()))) {
      throw new IOException(uri + " answered without a valid " + SharedKey.HEADER
          + " for this request: not signed with the federation's shared key");
    }
    return response.body();
  }

  private static String describe(IOException e) {
    String kind = e.getClass().getSimpleName();
    return e.getMessage() == null ? kind : kind + ": " + e.getMessage();
  }
}
