package io.mnistfl.fl.grpc;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.mnistfl.fl.grpc.proto.Farewell;
import io.mnistfl.fl.grpc.proto.ResultChunk;
import io.mnistfl.fl.grpc.proto.ServerMessage;
import io.mnistfl.fl.grpc.proto.TaskChunk;
import io.mnistfl.fl.grpc.proto.Welcome;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The protocol on one site host's stream, once admission let it open: tasks go down in chunks, each
 * with this server run's id, a task id and a fresh nonce that its answer must echo; answers come
 * back in chunks, every size checked before anything is allocated. The same payload for several
 * sites of the stream crosses it once. An answer that is replayed, forged or for no task is refused
 * and counted against the connection, which is cut after {@value Caps#REFUSALS_PER_CONNECTION}; a
 * late answer to a task the server gave up on is dropped.
 */
final class SiteStream {
  /** What every stream of one server run shares. */
  static final class Run {
    final ByteString runId;
    final SecureRandom random = new SecureRandom();
    final AtomicLong taskIds = new AtomicLong();
    final AtomicLong bytesSent = new AtomicLong();
    final AtomicLong bytesReceived = new AtomicLong();
    final long maxResultBytes;
    final Welcome welcome;
    final QuietEvents events;

    /** A run that welcomes sites with {@code welcome}, to which its run id is added. */
    Run(long maxResultBytes, Welcome.Builder welcome, QuietEvents events) {
      byte[] id = new byte[16];
      random.nextBytes(id);
      this.runId = ByteString.copyFrom(id);
      this.maxResultBytes = maxResultBytes;
      this.welcome = welcome.setRunId(runId).build();
      this.events = events;
    }
  }

  final Peer peer;
  final Set<String> sites = ConcurrentHashMap.newKeySet();
  final long opened = System.nanoTime();
  volatile long lastSeen = opened;
  volatile boolean stale;
  volatile boolean registered;

  private final Run run;
  private final Outbound<ServerMessage> out;
  private final Admission admission;
  private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
  private final AtomicBoolean ended = new AtomicBoolean();

  /** Tasks given up on without an answer, oldest first, so that late answers are told apart. */
  private final LinkedHashMap<Long, Late> late = new LinkedHashMap<>();

  /**
   * The payloads this stream carries or carried, newest last, each completed with whether it went
   * through whole.
   */
  private final LinkedHashMap<ByteString, CompletableFuture<Boolean>> carried =
      new LinkedHashMap<>();

  SiteStream(Run run, Peer peer, Outbound<ServerMessage> out, Admission admission) {
    this.run = run;
    this.peer = peer;
    this.out = out;
    this.admission = admission;
  }

  String who() {
    return peer.who();
  }

  boolean isEnded() {
    return ended.get();
  }

  /** Says which sites were admitted; false when the stream closed first. */
  boolean welcome(List<String> admitted) throws InterruptedException {
    try {
      out.send(
          ServerMessage.newBuilder()
              .setWelcome(run.welcome.toBuilder().addAllSiteIds(admitted))
              .build());
      return true;
    } catch (IllegalStateException e) {
      return false;
    }
  }

  /** Sends {@code request} to {@code siteId} and waits for its whole answer. */
  byte[] call(String siteId, byte[] request, ByteString digest)
      throws IOException, InterruptedException {
    long id = run.taskIds.incrementAndGet();
    byte[] nonce = new byte[16];
    run.random.nextBytes(nonce);
    Pending p = new Pending(siteId, ByteString.copyFrom(nonce));
    pending.put(id, p);
    try {
      TaskChunk.Builder task =
          TaskChunk.newBuilder()
              .setSiteId(siteId)
              .setTaskId(id)
              .setRunId(run.runId)
              .setNonce(p.nonce)
              .setTotalSize(request.length)
              .setPayloadSha256(digest);
      // The first task with a payload sends it; the others wait for that and send its
      // digest only, which the stream delivers after the payload.
      CompletableFuture<Boolean> mine = new CompletableFuture<>();
      CompletableFuture<Boolean> sending;
      synchronized (carried) {
        sending = carried.putIfAbsent(digest, mine);
        if (sending == null) {
          while (carried.size() > 2) {
            carried.remove(carried.keySet().iterator().next());
          }
        }
      }
      boolean cached = sending != null && sending.get();
      if (cached) {
        out.send(ServerMessage.newBuilder().setTask(task.setCached(true).setLast(true)).build());
      } else {
        try {
          List<ByteString> chunks = Chunks.split(request);
          for (int i = 0; i < chunks.size(); i++) {
            out.send(
                ServerMessage.newBuilder()
                    .setTask(task.setData(chunks.get(i)).setLast(i == chunks.size() - 1))
                    .build());
          }
          run.bytesSent.addAndGet(request.length);
          mine.complete(sending == null);
        } catch (InterruptedException | RuntimeException e) {
          mine.complete(false);
          synchronized (carried) {
            carried.remove(digest, mine);
          }
          throw e;
        }
      }
      return p.answer.get();
    } catch (ExecutionException e) {
      throw new IOException(e.getCause().getMessage(), e.getCause());
    } catch (IllegalStateException e) {
      throw new IOException("site " + siteId + " disconnected", e);
    } finally {
      pending.remove(id);
      if (!p.settled) {
        synchronized (late) {
          late.put(id, new Late(p.siteId, p.nonce));
          while (late.size() > Caps.LATE_TASKS) {
            late.remove(late.keySet().iterator().next());
          }
        }
      }
    }
  }

  /** One chunk of an answer. */
  void onResult(ResultChunk r) {
    Pending p = pending.get(r.getTaskId());
    if (p == null) {
      if (!droppedAsLate(r)) {
        refuse(
            "an answer for task "
                + r.getTaskId()
                + ", which is not outstanding (replayed or too late)");
      }
      return;
    }
    if (!r.getRunId().equals(run.runId)) {
      refuse("an answer from another server run");
      return;
    }
    if (!r.getSiteId().equals(p.siteId) || !r.getNonce().equals(p.nonce)) {
      refuse("an answer for task " + r.getTaskId() + " that does not echo its site and nonce");
      return;
    }
    if (!r.getError().isEmpty()) {
      String error = r.getError();
      p.settled = true;
      p.answer.completeExceptionally(
          new IOException(error.length() > 300 ? error.substring(0, 300) + "…" : error));
      return;
    }
    try {
      if (p.assembler == null) {
        p.assembler =
            new Chunks.Assembler(
                r.getTotalSize(), run.maxResultBytes, "the answer of site " + p.siteId);
      }
      run.bytesReceived.addAndGet(r.getData().size());
      byte[] whole = p.assembler.add(r.getData(), r.getLast());
      if (whole != null) {
        p.settled = true;
        p.answer.complete(whole);
      }
    } catch (IOException e) {
      p.settled = true;
      p.answer.completeExceptionally(e);
    }
  }

  /**
   * Whether {@code r} belongs to a task the server gave up on, echoing it, within the chunks such
   * an answer can have; it is dropped, reported once in a while.
   */
  private boolean droppedAsLate(ResultChunk r) {
    synchronized (late) {
      Late l = late.get(r.getTaskId());
      if (l == null
          || !r.getRunId().equals(run.runId)
          || !r.getSiteId().equals(l.siteId)
          || !r.getNonce().equals(l.nonce)
          || ++l.chunks > run.maxResultBytes / Chunks.SIZE + 1) {
        return false;
      }
      if (r.getLast() || !r.getError().isEmpty()) {
        late.remove(r.getTaskId());
      }
    }
    run.events.refused(who(), "a late answer for task " + r.getTaskId() + ", dropped");
    return true;
  }

  /** Reports a refused message and counts it against the connection. */
  void refuse(String why) {
    run.events.refused(who(), why);
    if (peer.refusals.incrementAndGet() == Caps.REFUSALS_PER_CONNECTION) {
      admission.cut(
          peer,
          Caps.REFUSALS_PER_CONNECTION
              + " messages refused on one connection (answers replayed, forged or for no task)");
    }
  }

  /** Fails every task outstanding. */
  void failPending(String why) {
    pending
        .values()
        .forEach(
            p -> p.answer.completeExceptionally(new IOException("site " + p.siteId + " " + why)));
  }

  /** Fails the tasks outstanding for {@code siteId}. */
  void failPending(String siteId, String why) {
    pending.values().stream()
        .filter(p -> p.siteId.equals(siteId))
        .forEach(
            p -> p.answer.completeExceptionally(new IOException("site " + siteId + " " + why)));
  }

  /**
   * Tells the site why its stream ends (at most a second's wait for the transport), then ends it
   * with {@code status}.
   */
  void farewell(Farewell.Reason reason, String why, Status status) {
    if (ended.get()) {
      return;
    }
    out.sendWithin(
        ServerMessage.newBuilder()
            .setFarewell(Farewell.newBuilder().setReason(reason).setDetail(why))
            .build(),
        1_000);
    end(why, status);
  }

  /** Closes the stream (if open) with {@code status} and forgets it. */
  void end(String why, Status status) {
    if (ended.get()) {
      return;
    }
    out.fail(status.withDescription(why).asRuntimeException());
    forget(why);
  }

  /** Forgets the stream, which the peer closed or broke. */
  void forget(String why) {
    if (!ended.compareAndSet(false, true)) {
      return;
    }
    out.close();
    admission.forget(this);
    failPending("disconnected: " + why);
    if (registered) {
      run.events.left(who(), why);
    }
  }

  /** A task sent and not yet answered. */
  private static final class Pending {
    final String siteId;
    final ByteString nonce;
    final CompletableFuture<byte[]> answer = new CompletableFuture<>();
    Chunks.Assembler assembler;
    volatile boolean settled;

    Pending(String siteId, ByteString nonce) {
      this.siteId = siteId;
      this.nonce = nonce;
    }
  }

  /** A task given up on: what its late answer must echo, and how many chunks of it came. */
  private static final class Late {
    final String siteId;
    final ByteString nonce;
    long chunks;

    Late(String siteId, ByteString nonce) {
      this.siteId = siteId;
      this.nonce = nonce;
    }
  }
}
