package io.mnistfl.testing;

import java.lang.management.ManagementFactory;

/** Bytes this thread has allocated so far, to bound what a reader allocates for an input. */
public final class Allocation {
  private static final com.sun.management.ThreadMXBean THREADS =
      (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

  private Allocation() {}

  /** Bytes allocated by the calling thread since it started. */
  public static long bytes() {
    return THREADS.getCurrentThreadAllocatedBytes();
  }
}
