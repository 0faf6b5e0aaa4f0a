package io.mnistfl.fl.site;

import io.mnistfl.fl.Client;
import io.mnistfl.fl.wire.Frame;
import io.mnistfl.fl.wire.MessageFormatException;
import io.mnistfl.fl.wire.Messages;
import java.io.IOException;
import java.util.Objects;

/**
 * The site's side of every exchange: decodes a request, checks it against the site's {@link
 * SiteLimits}, has the {@link Client} train or evaluate, and encodes the answer. A transport on the
 * site hands it each request's bytes and sends back what it returns; the site never learns anything
 * from a server but through here.
 */
public final class ClientRuntime {
  private final Client client;
  private final SiteLimits limits;
  private volatile StageHandler stages;

  /** Handles the requests of a multi-stage fit protocol, e.g. secure aggregation. */
  public interface StageHandler {
    /**
     * Whether this handler answers messages of {@code kind}.
     *
     * @param kind a message kind, as {@link Frame#kind} reads it
     * @return whether it is one of this handler's
     */
    boolean handles(String kind);

    /**
     * The site's answer to a request of one of its kinds.
     *
     * @param request the encoded request
     * @param client the site's client
     * @param limits the site's limits
     * @return the encoded answer
     * @throws IOException when the request is malformed or the site refuses it
     */
    byte[] handle(byte[] request, Client client, SiteLimits limits) throws IOException;
  }

  private ClientRuntime(Client client, SiteLimits limits, StageHandler stages) {
    this.client = Objects.requireNonNull(client, "client");
    this.limits = Objects.requireNonNull(limits, "limits");
    this.stages = stages;
  }

  /**
   * A runtime for {@code client} with the {@link SiteLimits#defaults() default limits}.
   *
   * @param client the site's client
   * @return the runtime
   */
  public static ClientRuntime of(Client client) {
    return of(client, SiteLimits.defaults());
  }

  /**
   * A runtime for {@code client} with the given limits.
   *
   * @param client the site's client
   * @param limits what the site will do for a server
   * @return the runtime
   */
  public static ClientRuntime of(Client client, SiteLimits limits) {
    return new ClientRuntime(client, limits, null);
  }

  /**
   * This runtime, also answering the stages of {@code handler}'s protocol.
   *
   * @param handler answers the protocol's further message kinds
   * @return a new runtime; this one is unchanged
   */
  public ClientRuntime withStages(StageHandler handler) {
    return new ClientRuntime(client, limits, Objects.requireNonNull(handler, "handler"));
  }

  /**
   * The site's id.
   *
   * @return the client's id
   */
  public String siteId() {
    return client.id();
  }

  /**
   * The answer to one request.
   *
   * @param request the encoded request
   * @return the encoded answer
   * @throws IOException when the request is malformed or the site refuses it; the message says why
   */
  public byte[] handle(byte[] request) throws IOException {
    String kind = Frame.kind(request).orElse("");
    if (kind.equals(Messages.FIT) || kind.equals(Messages.EVALUATE)) {
      Messages.Request r = Messages.decodeRequest(request);
      if (r.evaluate()) {
        return Messages.encode(client.evaluate(r.weights(), r.config()));
      }
      String refusal = limits.violation(r.config(), client.numExamples());
      if (!refusal.isEmpty()) {
        throw new IOException("site " + client.id() + " refuses: " + refusal);
      }
      return Messages.encode(client.fit(r.weights(), r.config()), r);
    }
    StageHandler handler = stages;
    if (handler != null && handler.handles(kind)) {
      return handler.handle(request, client, limits);
    }
    throw new MessageFormatException(
        "site "
            + client.id()
            + " does not know messages of kind '"
            + kind.replaceAll("[^ -~]", "?")
            + "'");
  }
}
