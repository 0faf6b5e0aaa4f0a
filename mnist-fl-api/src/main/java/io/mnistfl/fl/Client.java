package io.mnistfl.fl;

import io.mnistfl.model.Weights;

/**
 * A federated participant: trains on data that never leaves it. The server never calls a client
 * directly but through a {@link Transport}; {@link io.mnistfl.fl.sim.InProcessTransport} connects
 * local ones.
 */
public interface Client {

  /**
   * A stable identity.
   *
   * @return the client's id
   */
  String id();

  /**
   * Number of local training examples.
   *
   * @return the number of examples it trains on
   */
  int numExamples();

  /**
   * Trains from {@code global} as the round config says and returns the new weights.
   *
   * @param global the weights to start from
   * @param config what to do this round
   * @return the trained weights and what came with them
   */
  ClientUpdate fit(Weights global, RoundConfig config);

  /**
   * Evaluates {@code weights} on the client's held-out data.
   *
   * @param weights the weights to evaluate
   * @param config the round the evaluation belongs to
   * @return the metrics on the held-out data
   */
  ClientEvaluation evaluate(Weights weights, RoundConfig config);
}
