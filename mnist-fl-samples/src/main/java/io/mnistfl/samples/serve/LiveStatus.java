package io.mnistfl.samples.serve;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Optional;

/**
 * What a running {@code federate} adds to its folder for the page ({@value #FILE}), beside
 * history.json: whether it is still running, each round's bytes and privacy spent, and the sites
 * connected to a {@code --listen} server with their last heartbeat. Rewritten whole after every
 * round and, while sites are connected, every second.
 *
 * @param state {@code running}, {@code finished} or {@code failed}
 * @param mode {@code simulation} or {@code listen}
 * @param roundsPlanned the rounds the run was asked for
 * @param updatedMillis when this was written, in milliseconds since the epoch
 * @param rounds per-round figures history.json does not hold
 * @param sites the sites connected to a {@code --listen} server; empty in a simulation
 */
@JsonInclude(JsonInclude.Include.NON_ABSENT)
public record LiveStatus(
    String state,
    String mode,
    int roundsPlanned,
    long updatedMillis,
    List<RoundTraffic> rounds,
    List<Site> sites) {

  /** The file's name in the run folder. */
  public static final String FILE = "live.json";

  /**
   * Copies the lists.
   *
   * @param state {@code running}, {@code finished} or {@code failed}
   * @param mode {@code simulation} or {@code listen}
   * @param roundsPlanned the rounds the run was asked for
   * @param updatedMillis when this was written
   * @param rounds per-round figures
   * @param sites connected sites
   */
  public LiveStatus {
    rounds = List.copyOf(rounds);
    sites = List.copyOf(sites);
  }

  /**
   * One round's traffic and privacy.
   *
   * @param round the 1-based round
   * @param bytesToSites payload bytes sent to sites in the round
   * @param bytesFromSites payload bytes received from them
   * @param epsilon with DP-FedAvg, the user-level ε spent after this round
   */
  @JsonInclude(JsonInclude.Include.NON_ABSENT)
  public record RoundTraffic(
      int round, long bytesToSites, long bytesFromSites, Optional<Double> epsilon) {}

  /**
   * A site connected to the server.
   *
   * @param id the site's id
   * @param lastHeardMillis when it was last heard from, in milliseconds since the epoch
   * @param onTime false once it has missed three heartbeats
   */
  public record Site(String id, long lastHeardMillis, boolean onTime) {}
}
