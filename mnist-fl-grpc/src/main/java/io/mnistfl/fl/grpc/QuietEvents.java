package io.mnistfl.fl.grpc;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The server's events with repeated lines held back, so that a peer cannot fill the operator's log:
 * at most {@value #LINES} lines of one kind from one peer a minute, then one line saying how many
 * more there were. A kind is the line with its numbers blanked out; a peer is its certificate and
 * host, whatever its port. Events are passed on outside any lock.
 */
final class QuietEvents implements GrpcServer.Events {
  /** Lines of one kind from one peer reported a minute. */
  static final int LINES = 10;

  private static final long MINUTE = 60_000_000_000L;
  private static final int KINDS = 1024;

  private final GrpcServer.Events to;
  private final List<Window> evicted = new ArrayList<>();
  private final Map<String, Window> windows =
      new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Window> eldest) {
          if (size() > KINDS) {
            evicted.add(eldest.getValue());
            return true;
          }
          return false;
        }
      };

  QuietEvents(GrpcServer.Events to) {
    this.to = to;
  }

  @Override
  public void joined(String who, List<String> sites) {
    if (admit("joined", who, "joined")) {
      to.joined(who, sites);
    }
  }

  @Override
  public void left(String who, String why) {
    if (admit("left", who, why)) {
      to.left(who, why);
    }
  }

  @Override
  public void refused(String who, String why) {
    if (admit("refused", who, why)) {
      to.refused(who, why);
    }
  }

  /** Reports the lines held back in every minute that has ended. */
  void flush() {
    List<Window> ended = new ArrayList<>();
    synchronized (windows) {
      long now = System.nanoTime();
      for (Iterator<Window> i = windows.values().iterator(); i.hasNext(); ) {
        Window w = i.next();
        if (now - w.start > MINUTE) {
          ended.add(w);
          i.remove();
        }
      }
    }
    ended.forEach(Window::report);
  }

  private boolean admit(String event, String who, String why) {
    String key = event + " " + who.replaceFirst(":\\d+$", "") + " " + why.replaceAll("\\d+", "#");
    List<Window> ended = new ArrayList<>();
    boolean admitted;
    synchronized (windows) {
      long now = System.nanoTime();
      Window w = windows.get(key);
      if (w == null || now - w.start > MINUTE) {
        if (w != null) {
          ended.add(w);
        }
        w = new Window(now, event, who, why);
        windows.put(key, w);
        ended.addAll(evicted);
        evicted.clear();
      }
      admitted = w.lines < LINES;
      if (admitted) {
        w.lines++;
      } else {
        w.held++;
      }
    }
    ended.forEach(Window::report);
    return admitted;
  }

  /** One kind of line from one peer in one minute. */
  private final class Window {
    final long start;
    final String event;
    final String who;
    final String why;
    int lines;
    long held;

    Window(long start, String event, String who, String why) {
      this.start = start;
      this.event = event;
      this.who = who;
      this.why = why;
    }

    /** The line saying how many were held back, if any were. */
    void report() {
      if (held == 0) {
        return;
      }
      String more = held + " more like this held back in a minute: ";
      if (event.equals("left")) {
        to.left(who, more + why);
      } else {
        to.refused(who, more + why);
      }
    }
  }
}
