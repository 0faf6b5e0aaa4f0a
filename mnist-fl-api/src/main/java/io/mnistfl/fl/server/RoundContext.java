package io.mnistfl.fl.server;

import io.mnistfl.model.Weights;

/**
 * What a {@link FitProtocol} knows of the round it runs, to check what sites send.
 *
 * @param round 1-based round
 * @param global the global weights the sites start from; every update must have their layout
 * @param maxExamplesPerSite the largest example count a site may claim
 */
public record RoundContext(int round, Weights global, int maxExamplesPerSite) {}
