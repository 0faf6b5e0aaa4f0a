package io.mnistfl.fl.grpc;

import io.grpc.stub.CallStreamObserver;

/**
 * The sending half of a stream, shared by threads: one message at a time, and only when the
 * transport is ready for it, so that a slow peer holds back the sender instead of filling memory
 * with queued chunks. A sender waits at most until it is interrupted (its deadline) or the stream
 * closes.
 */
final class Outbound<T> {
  private final CallStreamObserver<T> stream;
  private final Object lock = new Object();
  private boolean closed;

  Outbound(CallStreamObserver<T> stream) {
    this.stream = stream;
    stream.setOnReadyHandler(this::wake);
  }

  /** Wakes waiting senders: the transport became ready, or the stream ended. */
  void wake() {
    synchronized (lock) {
      lock.notifyAll();
    }
  }

  /** Marks the stream closed; senders give up. */
  void close() {
    synchronized (lock) {
      closed = true;
      lock.notifyAll();
    }
  }

  /**
   * Sends {@code message} once the transport is ready.
   *
   * @throws InterruptedException when interrupted while waiting
   * @throws IllegalStateException when the stream has closed
   */
  void send(T message) throws InterruptedException {
    synchronized (lock) {
      while (!closed && !stream.isReady()) {
        lock.wait(200);
      }
      if (closed) {
        throw new IllegalStateException("the stream has closed");
      }
      stream.onNext(message);
    }
  }

  /**
   * Sends {@code message} if the transport becomes ready within {@code millis}; a last word that
   * must not hold up a server that is closing.
   *
   * @return whether it was sent
   */
  boolean sendWithin(T message, long millis) {
    long end = System.nanoTime() + millis * 1_000_000;
    synchronized (lock) {
      try {
        while (!closed && !stream.isReady() && System.nanoTime() < end) {
          lock.wait(Math.max(1, Math.min(200, (end - System.nanoTime()) / 1_000_000)));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
      if (closed || !stream.isReady()) {
        return false;
      }
      try {
        stream.onNext(message);
        return true;
      } catch (RuntimeException e) {
        return false;
      }
    }
  }

  /** Ends the stream with an error, once. */
  void fail(Throwable error) {
    synchronized (lock) {
      if (!closed) {
        closed = true;
        try {
          stream.onError(error);
        } catch (RuntimeException e) {
          // already cancelled by the other side
        }
        lock.notifyAll();
      }
    }
  }

  /** Ends the stream normally, once. */
  void complete() {
    synchronized (lock) {
      if (!closed) {
        closed = true;
        try {
          stream.onCompleted();
        } catch (RuntimeException e) {
          // already cancelled by the other side
        }
        lock.notifyAll();
      }
    }
  }
}
