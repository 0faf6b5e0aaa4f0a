package io.mnistfl.fl;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/**
 * Sends one phase of a round (fit or evaluate) to the sampled clients: at most {@code parallel}
 * calls at once, and, with a timeout, only as long as the timeout from the start of the phase.
 * Answers are returned in the order of the sampled ids, whatever order they arrive in, so that the
 * aggregate does not depend on which client was fastest.
 */
final class ClientCalls implements AutoCloseable {
  /** One call to one client. */
  interface Call<T> {
    T call(String clientId) throws Exception;
  }

  /** Per sampled client (same order) its answer, or empty if it failed; and the failure lines. */
  record Answers<T>(List<Optional<T>> answers, List<String> failures) {
    List<T> present() {
      return answers.stream().flatMap(Optional::stream).toList();
    }
  }

  private final Optional<Duration> timeout;
  private final Optional<ExecutorService> pool;

  ClientCalls(int parallel, Optional<Duration> timeout) {
    this.timeout = timeout;
    // Calls run on the caller's thread unless they may overlap or must be abandoned on time.
    this.pool = parallel == 1 && timeout.isEmpty() ? Optional.empty()
        : Optional.of(Executors.newFixedThreadPool(parallel, task -> {
          Thread t = new Thread(task, "federation-client-call");
          t.setDaemon(true);
          return t;
        }));
  }

  /**
   * Calls every client in {@code ids}; {@code onDone} gets the running count of finished calls,
   * on the caller's thread. A failure line reads {@code id + label + ": " + reason}.
   */
  <T> Answers<T> send(List<String> ids, String label, Call<T> call, IntConsumer onDone) {
    List<Optional<T>> answers = new ArrayList<>(ids.size());
    List<String> failures = new ArrayList<>();
    String[] errors = new String[ids.size()];
    for (int i = 0; i < ids.size(); i++) {
      answers.add(Optional.empty());
    }
    if (pool.isEmpty()) {
      for (int i = 0; i < ids.size(); i++) {
        try {
          answers.set(i, Optional.of(call.call(ids.get(i))));
        } catch (Exception e) {
          errors[i] = describe(e);
        }
        onDone.accept(i + 1);
      }
    } else {
      collect(ids, call, onDone, answers, errors);
    }
    for (int i = 0; i < ids.size(); i++) {
      if (errors[i] != null) {
        failures.add(ids.get(i) + label + ": " + errors[i]);
      }
    }
    return new Answers<>(answers, failures);
  }

  private <T> void collect(List<String> ids, Call<T> call, IntConsumer onDone,
      List<Optional<T>> answers, String[] errors) {
    ExecutorCompletionService<T> service = new ExecutorCompletionService<>(pool.orElseThrow());
    Map<Future<T>, Integer> index = new HashMap<>();
    for (int i = 0; i < ids.size(); i++) {
      String id = ids.get(i);
      index.put(service.submit(() -> call.call(id)), i);
    }
    long deadline = System.nanoTime() + timeout.map(Duration::toNanos).orElse(0L);
    int done = 0;
    try {
      while (done < ids.size()) {
        Future<T> next = timeout.isEmpty() ? service.take()
            : service.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        if (next == null) {
          break;
        }
        int i = index.remove(next);
        try {
          answers.set(i, Optional.of(next.get()));
        } catch (ExecutionException e) {
          errors[i] = describe(e.getCause());
        }
        onDone.accept(++done);
      }
    } catch (InterruptedException e) {
      index.keySet().forEach(f -> f.cancel(true));
      Thread.currentThread().interrupt();
      throw new CancellationException("interrupted while waiting for clients");
    }
    for (Map.Entry<Future<T>, Integer> late : index.entrySet()) {
      late.getKey().cancel(true);
      errors[late.getValue()] = "no answer within " + timeout.orElseThrow().toMillis() / 1e3 + " s";
    }
  }

  private static String describe(Throwable e) {
    return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
  }

  @Override
  public void close() {
    pool.ifPresent(ExecutorService::shutdownNow);
  }
}
