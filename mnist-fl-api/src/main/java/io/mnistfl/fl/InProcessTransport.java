package io.mnistfl.fl;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Connects clients in this JVM. Messages still go through their byte encoding, so simulations
 * exercise exactly what a remote transport would carry.
 */
public final class InProcessTransport implements Transport {
  private final Map<String, Client> clients = new LinkedHashMap<>();

  public InProcessTransport(List<? extends Client> clients) {
    for (Client c : clients) {
      if (this.clients.put(c.id(), c) != null) {
        throw new IllegalArgumentException("duplicate client id " + c.id());
      }
    }
  }

  @Override
  public List<String> clientIds() {
    return new ArrayList<>(clients.keySet());
  }

  @Override
  public byte[] fit(String clientId, byte[] request) throws IOException {
    Messages.Request r = Messages.decodeRequest(request);
    return Messages.encode(client(clientId).fit(r.weights(), r.config()), r);
  }

  @Override
  public byte[] evaluate(String clientId, byte[] request) throws IOException {
    Messages.Request r = Messages.decodeRequest(request);
    return Messages.encode(client(clientId).evaluate(r.weights(), r.config()));
  }

  private Client client(String id) throws IOException {
    Client c = clients.get(id);
    if (c == null) {
      throw new IOException("no client " + id + " in this process");
    }
    return c;
  }
}
