package io.mnistfl.fl;

import io.mnistfl.model.Weights;

/**
 * A client's answer to a fit request: its new local weights and how much data produced them.
 *
 * @param clientId who trained
 * @param weights the weights after local training (not a delta)
 * @param numExamples local training examples, the weight of this update in FedAvg
 * @param trainLoss mean local training loss of the last local epoch
 * @param trainAccuracy local training accuracy of the last local epoch
 */
public record ClientUpdate(
    String clientId, Weights weights, int numExamples, double trainLoss, double trainAccuracy) {}
