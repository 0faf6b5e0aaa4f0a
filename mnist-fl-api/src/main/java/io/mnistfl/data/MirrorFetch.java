package io.mnistfl.data;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodySubscriber;
import java.net.http.HttpResponse.ResponseInfo;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.UnresolvedAddressException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.zip.ZipException;

/**
 * Fetches a data set's files from an ordered list of mirrors with the JDK's HTTP client. Each
 * download goes to a temporary file beside its target, at most {@code maxBytes} long; it is kept
 * (moved into place atomically) only when its decompressed SHA-256 matches, otherwise deleted and
 * the next mirror tried. Every URL tried and why it failed is remembered for the error.
 */
final class MirrorFetch {
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);

  /** The most decompressed bytes hashed per file: more than any IDX file {@link Idx} reads. */
  private static final long MAX_CONTENT_BYTES = Idx.DEFAULT_MAX_PAYLOAD_BYTES + 1024;

  private final long maxBytes;
  private final Duration timeout;
  private final DownloadListener listener;
  private final List<String> failures = new ArrayList<>();
  private final Set<URI> unreachable = new HashSet<>();

  /**
   * A fetch with its own record of failures.
   *
   * @param maxBytes the longest download accepted
   * @param timeout the longest wait for a mirror's answer, and then for more of its body
   * @param listener told how downloads go
   */
  MirrorFetch(long maxBytes, Duration timeout, DownloadListener listener) {
    this.maxBytes = maxBytes;
    this.timeout = timeout;
    this.listener = listener;
  }

  /** Built on first download only, so that loading from the cache starts no client threads. */
  private static final class Client {
    // The builder's default proxy selector is ProxySelector.getDefault(), which reads the standard
    // http(s).proxyHost/proxyPort/nonProxyHosts properties on every request.
    static final HttpClient HTTP =
        HttpClient.newBuilder()
            .connectTimeout(CONNECT_TIMEOUT)
            .followRedirects(HttpClient.Redirect.NORMAL)
            .build();
  }

  /**
   * Fetches every file of {@code sha256} that {@code dir} lacks, trying the mirrors in order for
   * each, and stops at the first file no mirror serves.
   *
   * @return whether {@code dir} now holds every file
   * @throws InterruptedIOException when the thread is interrupted
   */
  boolean fetchMissing(Path dir, List<URI> mirrors, Map<String, String> sha256) throws IOException {
    for (Map.Entry<String, String> file : sha256.entrySet()) {
      if (IdxDirectory.find(dir, file.getKey()).isEmpty()
          && !fetchFromAny(dir, mirrors, file.getKey(), file.getValue())) {
        return false;
      }
    }
    return true;
  }

  /** Each URL tried and why it failed, in order, e.g. {@code http://a/x.gz: HTTP 404}. */
  List<String> failures() {
    return List.copyOf(failures);
  }

  /** {@code base/file.gz}, whether or not {@code base} ends with a slash. */
  static URI fileUrl(URI base, String file) {
    String b = base.toString();
    return URI.create((b.endsWith("/") ? b : b + "/") + file + ".gz");
  }

  private boolean fetchFromAny(Path dir, List<URI> mirrors, String file, String expected)
      throws IOException {
    for (URI base : mirrors) {
      // A mirror that could not be reached for one file is not waited on again for the next.
      if (unreachable.contains(base)) {
        continue;
      }
      URI url = fileUrl(base, file);
      // Made outside the mirror's try: a folder we cannot write to is our failure, not the
      // mirror's.
      Path part = Files.createTempFile(dir, "." + file + ".", ".part");
      try {
        long bytes = download(url, part);
        verify(part, expected);
        moveIntoPlace(part, dir.resolve(file + ".gz"));
        listener.verified(url, bytes);
        return true;
      } catch (IOException e) {
        if (Thread.currentThread().isInterrupted()) {
          throw e;
        }
        if (isConnectFailure(e)) {
          unreachable.add(base);
        }
        String reason = describe(e);
        failures.add(url + ": " + reason);
        listener.failed(url, reason);
      } finally {
        Files.deleteIfExists(part);
      }
    }
    return false;
  }

  private static void moveIntoPlace(Path part, Path target) throws IOException {
    try {
      Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(part, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private long download(URI url, Path part) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(url).timeout(timeout).GET().build();
    try (FileChannel out = FileChannel.open(part, StandardOpenOption.WRITE)) {
      Sink sink = new Sink(url, out);
      CompletableFuture<HttpResponse<Long>> response = Client.HTTP.sendAsync(request, sink::start);
      while (true) {
        try {
          return response.get(1, TimeUnit.SECONDS).body();
        } catch (TimeoutException e) {
          // The request timeout covers the wait for the headers; this, a body that stops coming.
          if (sink.stalled()) {
            String reason = "no data for " + seconds(timeout);
            sink.abort(reason);
            response.cancel(true);
            throw new Refused(reason);
          }
        } catch (ExecutionException e) {
          throw asIOException(e.getCause());
        } catch (InterruptedException e) {
          sink.abort("interrupted");
          response.cancel(true);
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while fetching " + url);
        }
      }
    }
  }

  private static IOException asIOException(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof Refused r) {
        return r;
      }
    }
    return t instanceof IOException io ? io : new IOException(t);
  }

  /** Refuses the file unless its decompressed content has the expected SHA-256. */
  private void verify(Path part, String expected) throws IOException {
    MessageDigest digest;
    try {
      digest = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK always provides SHA-256", e);
    }
    try (InputStream in = Idx.decompressIfGzip(Files.newInputStream(part))) {
      byte[] buffer = new byte[1 << 16];
      long total = 0;
      for (int n; (n = in.read(buffer)) > 0; ) {
        total += n;
        if (total > MAX_CONTENT_BYTES) {
          throw new Refused("decompresses to more than " + MAX_CONTENT_BYTES + " bytes");
        }
        digest.update(buffer, 0, n);
      }
    } catch (ZipException | EOFException e) {
      throw new Refused("not a valid gzip file (" + describe(e) + ")");
    }
    String actual = HexFormat.of().formatHex(digest.digest());
    if (!actual.equalsIgnoreCase(expected)) {
      throw new Refused(
          "SHA-256 "
              + actual
              + " of the decompressed file does not match the expected "
              + expected);
    }
  }

  private static boolean isConnectFailure(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof ConnectException
          || c instanceof UnresolvedAddressException
          || c instanceof UnknownHostException) {
        return true;
      }
    }
    return false;
  }

  /** A short reason for the error list; the HTTP client's exceptions often carry no message. */
  private String describe(Throwable e) {
    if (e instanceof Refused) {
      return e.getMessage();
    }
    if (e instanceof HttpConnectTimeoutException) {
      return "no connection within " + seconds(CONNECT_TIMEOUT);
    }
    if (e instanceof HttpTimeoutException) {
      return "no answer within " + seconds(timeout);
    }
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof UnresolvedAddressException || c instanceof UnknownHostException) {
        return "unknown host";
      }
    }
    String message = null;
    for (Throwable c = e; c != null && message == null; c = c.getCause()) {
      message = c.getMessage() == null || c.getMessage().isBlank() ? null : c.getMessage();
    }
    if (e instanceof ConnectException) {
      return "cannot connect" + (message == null ? "" : " (" + message + ")");
    }
    return message == null ? e.getClass().getSimpleName() : message;
  }

  private static String seconds(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }

  /** A mirror's answer this library refuses; its message is the whole reason. */
  private static final class Refused extends IOException {
    private static final long serialVersionUID = 1L;

    Refused(String reason) {
      super(reason);
    }
  }

  /** Writes one response body into its temporary file, counting it against the cap. */
  private final class Sink implements BodySubscriber<Long> {
    private final URI url;
    private final FileChannel out;
    private final CompletableFuture<Long> body = new CompletableFuture<>();
    private volatile Flow.Subscription subscription;
    private volatile long lastData;
    private volatile boolean answered;
    private volatile String refusal;
    private long received;
    private OptionalLong total = OptionalLong.empty();

    Sink(URI url, FileChannel out) {
      this.url = url;
      this.out = out;
    }

    BodySubscriber<Long> start(ResponseInfo info) {
      lastData = System.nanoTime();
      answered = true;
      if (info.statusCode() != 200) {
        refusal = "HTTP " + info.statusCode();
        return this;
      }
      total = info.headers().firstValueAsLong("Content-Length");
      if (total.isPresent() && total.getAsLong() > maxBytes) {
        refusal =
            "announces "
                + total.getAsLong()
                + " bytes, more than the cap of "
                + maxBytes
                + " bytes";
        return this;
      }
      listener.started(url, total);
      return this;
    }

    boolean stalled() {
      return answered && System.nanoTime() - lastData > timeout.toNanos();
    }

    void abort(String reason) {
      body.completeExceptionally(new Refused(reason));
      Flow.Subscription s = subscription;
      if (s != null) {
        s.cancel();
      }
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
      if (refusal != null) {
        abort(refusal);
      } else {
        s.request(1);
      }
    }

    @Override
    public void onNext(List<ByteBuffer> buffers) {
      if (body.isDone()) {
        return;
      }
      try {
        for (ByteBuffer b : buffers) {
          received += b.remaining();
          if (received > maxBytes) {
            abort("longer than the cap of " + maxBytes + " bytes; cut off there");
            return;
          }
          while (b.hasRemaining()) {
            out.write(b);
          }
        }
        lastData = System.nanoTime();
        listener.progress(url, received, total);
        subscription.request(1);
      } catch (IOException | RuntimeException e) {
        body.completeExceptionally(e);
        subscription.cancel();
      }
    }

    @Override
    public void onError(Throwable t) {
      body.completeExceptionally(t);
    }

    @Override
    public void onComplete() {
      body.complete(received);
    }

    @Override
    public CompletionStage<Long> getBody() {
      return body;
    }
  }
}
