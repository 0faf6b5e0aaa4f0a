package io.mnistfl.data;

/**
 * A data set's training and test parts as published. The test part is only ever evaluated on.
 *
 * @param train the published training images
 * @param test the published test images
 */
public record TrainTestData(ImageDataset train, ImageDataset test) {}
