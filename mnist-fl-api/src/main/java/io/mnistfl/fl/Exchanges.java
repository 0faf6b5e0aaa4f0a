package io.mnistfl.fl;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * The {@link SiteExchange} of a running federation: at most {@code parallel} calls through the
 * transport at once, and none waited for longer than the stage's deadline from the stage's start; a
 * late call is interrupted. Answers keep the order of the requests, whatever order they arrive in,
 * so that aggregates do not depend on which site was fastest.
 */
final class Exchanges implements SiteExchange, AutoCloseable {
  /** Told of every finished call, on the loop's thread. */
  interface Progress {
    void answered(String stage, int done, int total);
  }

  private final Transport transport;
  private final Duration deadline;
  private final ExecutorService pool;
  private final Progress progress;

  Exchanges(Transport transport, int parallel, Duration deadline, Progress progress) {
    this.transport = transport;
    this.deadline = deadline;
    this.progress = progress;
    this.pool =
        Executors.newFixedThreadPool(
            parallel,
            task -> {
              Thread t = new Thread(task, "federation-site-call");
              t.setDaemon(true);
              return t;
            });
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
      index.put(service.submit(() -> transport.exchange(id, request)), i);
    }
    long end = System.nanoTime() + deadline.toNanos();
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
      }
    } catch (InterruptedException e) {
      index.keySet().forEach(f -> f.cancel(true));
      Thread.currentThread().interrupt();
      throw new CancellationException("interrupted while waiting for sites");
    }
    for (Map.Entry<Future<byte[]>, Integer> late : index.entrySet()) {
      late.getKey().cancel(true);
      errors[late.getValue()] = "no answer within " + deadline.toMillis() / 1e3 + " s";
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

  @Override
  public void close() {
    pool.shutdownNow();
  }
}
