package io.mnistfl.fl;

import io.mnistfl.model.Weights;

/**
 * A federated participant: trains on data that never leaves it. The server never calls a client
 * directly but through a {@link Transport}; {@link io.mnistfl.fl.sim.InProcessTransport} connects
 * local ones.
 */
public interface Client {

  /** A stable identity. */
  String id();

  /** Number of local training examples. */
  int numExamples();

  /** Trains from {@code global} as the round config says and returns the new weights. */
  ClientUpdate fit(Weights global, RoundConfig config);

  /** Evaluates {@code weights} on the client's held-out data. */
  ClientEvaluation evaluate(Weights weights, RoundConfig config);
}
