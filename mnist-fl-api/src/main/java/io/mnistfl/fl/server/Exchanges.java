package io.mnistfl.fl.server;

import io.mnistfl.fl.SiteFailure;
import io.mnistfl.fl.Transport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The {@link SiteExchange} of a running federation: at most {@code parallel} calls through the
 * transport at once, and none waited for longer than the stage's deadline from the stage's start; a
 * late call is interrupted. Once half of a stage's calls have ended, the rest wait at most {@link
 * StageDeadline#stragglerFactor()} times as long as that half took (but at least its floor), so
 * that one silent site does not hold a fast round for the whole deadline. Answers keep the order of
 * the requests, whatever order they arrive in, so that aggregates do not depend on which site was
 * fastest. Call threads that have been idle for a while end.
 */
final class Exchanges implements SiteExchange, AutoCloseable {
  /** Told of every finished call, on the loop's thread. */
  interface Progress {
    void answered(String stage, int done, int total);
  }

  private final Transport transport;
  private final StageDeadline deadline;
  private final ThreadPoolExecutor pool;
  private final Progress progress;

  Exchanges(Transport transport, int parallel, StageDeadline deadline, Progress progress) {
    this(transport, parallel, deadline, progress, Duration.ofSeconds(10));
  }

  Exchanges(
      Transport transport,
      int parallel,
      StageDeadline deadline,
      Progress progress,
      Duration idleThreads) {
    this.transport = transport;
    this.deadline = deadline;
    this.progress = progress;
    this.pool =
        new ThreadPoolExecutor(
            parallel,
            parallel,
            idleThreads.toMillis(),
            TimeUnit.MILLISECONDS,
            new LinkedBlockingQueue<>(),
            task -> {
              Thread t = new Thread(task, "federation-site-call");
              t.setDaemon(true);
              return t;
            });
    pool.allowCoreThreadTimeOut(true);
  }

  /** The sites that timed out since the last {@link #drainTimedOut()}. */
  private final java.util.Set<String> timedOut = new java.util.LinkedHashSet<>();

  /**
   * The sites that timed out in any stage since the last call, cleared.
   *
   * @return their ids, in the order they timed out
   */
  List<String> drainTimedOut() {
    List<String> out = List.copyOf(timedOut);
    timedOut.clear();
    return out;
  }

  /** The call threads alive now, for tests. */
  int threads() {
    return pool.getPoolSize();
  }

  @Override
  public Replies send(String stage, Map<String, byte[]> requests) {
    List<String> ids = new ArrayList<>(requests.keySet());
    byte[][] answers = new byte[ids.size()][];
    String[] errors = new String[ids.size()];
    ExecutorCompletionService<byte[]> service = new ExecutorCompletionService<>(pool);
    Map<Future<byte[]>, Integer> index = new HashMap<>();
    for (int i = 0; i < ids.size(); i++) {
      String id = ids.get(i);
      byte[] request = requests.get(id);
      index.put(service.submit(() -> call(id, request)), i);
    }
    long start = System.nanoTime();
    long end = start + deadline.limit().toNanos();
    int half = (ids.size() + 1) / 2;
    int done = 0;
    try {
      while (done < ids.size()) {
        Future<byte[]> next = service.poll(end - System.nanoTime(), TimeUnit.NANOSECONDS);
        if (next == null) {
          break;
        }
        int i = index.remove(next);
        try {
          answers[i] = next.get();
        } catch (ExecutionException e) {
          errors[i] = Checks.describe(e.getCause());
        }
        progress.answered(stage, ++done, ids.size());
        if (done == half && done < ids.size()) {
          end = Math.min(end, start + deadline.stragglerWait(System.nanoTime() - start));
        }
      }
    } catch (InterruptedException e) {
      index.keySet().forEach(f -> f.cancel(true));
      Thread.currentThread().interrupt();
      throw new CancellationException("interrupted while waiting for sites");
    }
    for (Map.Entry<Future<byte[]>, Integer> late : index.entrySet()) {
      late.getKey().cancel(true);
      errors[late.getValue()] = "no answer within " + (end - start) / 1_000_000 / 1e3 + " s";
      timedOut.add(ids.get(late.getValue()));
    }
    Map<String, byte[]> present = new LinkedHashMap<>();
    List<SiteFailure> failures = new ArrayList<>();
    for (int i = 0; i < ids.size(); i++) {
      if (errors[i] != null) {
        failures.add(
            new SiteFailure(ids.get(i), (stage.equals("fit") ? "" : stage + ": ") + errors[i]));
      } else {
        present.put(ids.get(i), answers[i]);
      }
    }
    return new Replies(present, failures);
  }

  /** One call; a transport that answers nothing is named, not left to fail later. */
  private byte[] call(String siteId, byte[] request) throws Exception {
    byte[] answer = transport.exchange(siteId, request);
    if (answer == null) {
      throw new IllegalStateException(
          "the transport " + transport.getClass().getName() + " returned no answer (null)");
    }
    return answer;
  }

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
