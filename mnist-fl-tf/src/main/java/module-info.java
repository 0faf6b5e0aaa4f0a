/**
 * The TensorFlow Java backend of mnist-fl: {@link io.mnistfl.tf.TfModel} trains, evaluates and
 * predicts on a TensorFlow graph, and {@link io.mnistfl.tf.TfClient} is a federated site on it. The
 * application adds TensorFlow's natives for its platform ({@code tensorflow-core-native} with a
 * classifier such as {@code linux-x86_64}).
 */
module io.mnistfl.tf {
  requires transitive io.mnistfl.api;
  requires tensorflow;

  exports io.mnistfl.tf;
}
