package io.mnistfl.samples;

import io.mnistfl.fl.server.FitProtocol;
import io.mnistfl.fl.server.FitResults;
import io.mnistfl.fl.server.RoundContext;
import io.mnistfl.fl.server.SiteExchange;
import io.mnistfl.fl.server.SiteInstruction;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.List;
import java.util.Map;

/**
 * A fit protocol that adds up the CPU time the server's round thread spends in it: decoding and
 * checking updates, or secure aggregation's stages and unmasking. The sites' work runs on other
 * threads and is not counted.
 */
final class TimedFit implements FitProtocol {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private final FitProtocol inner;
  private long nanos;

  TimedFit(FitProtocol inner) {
    this.inner = inner;
  }

  @Override
  public FitResults run(
      RoundContext round, List<SiteInstruction> instructions, SiteExchange exchange) {
    long start = THREADS.getCurrentThreadCpuTime();
    try {
      return inner.run(round, instructions, exchange);
    } finally {
      nanos += THREADS.getCurrentThreadCpuTime() - start;
    }
  }

  @Override
  public boolean yieldsSums() {
    return inner.yieldsSums();
  }

  @Override
  public Map<String, String> parameters() {
    return inner.parameters();
  }

  @Override
  public String toString() {
    return inner.toString();
  }

  /** The CPU seconds spent so far. */
  double cpuSeconds() {
    return nanos / 1e9;
  }
}
