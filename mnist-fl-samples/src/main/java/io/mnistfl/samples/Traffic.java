package io.mnistfl.samples;

import io.mnistfl.fl.Transport;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** A transport that counts the bytes of every request and answer, as a network would carry. */
final class Traffic implements Transport {
  private final Transport inner;
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong received = new AtomicLong();

  Traffic(Transport inner) {
    this.inner = inner;
  }

  @Override
  public List<String> siteIds() {
    return inner.siteIds();
  }

  @Override
  public byte[] exchange(String siteId, byte[] request) throws IOException, InterruptedException {
    sent.addAndGet(request.length);
    byte[] answer = inner.exchange(siteId, request);
    received.addAndGet(answer.length);
    return answer;
  }

  /** Bytes sent to sites and received from them so far. */
  long[] bytes() {
    return new long[] {sent.get(), received.get()};
  }

  @Override
  public void close() {
    inner.close();
  }
}
