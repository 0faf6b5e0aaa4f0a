/**
 * mnist-fl's API, pure Java: data sets and readers ({@code io.mnistfl.data}), model specs and
 * weights ({@code model}), metrics, calibrated verdicts ({@code predict}), training records and
 * provenance ({@code train}), and federated learning: the shared vocabulary ({@code fl}), the
 * server's round loop and strategies ({@code fl.server}), the site's runtime ({@code fl.site}),
 * aggregators, differential privacy, secure aggregation, simulation, the wire format and
 * checkpoints. A backend such as {@code io.mnistfl.tf} implements {@link io.mnistfl.train.Model};
 * the network transports are {@code io.mnistfl.grpc}'s. It needs no network library.
 */
module io.mnistfl.api {
  // Only DigitImages and ImageFolder decode pictures: an application that does adds it.
  requires static java.desktop;
  requires com.fasterxml.jackson.annotation;
  requires com.fasterxml.jackson.databind;
  requires com.fasterxml.jackson.datatype.jdk8;
  requires org.apache.commons.compress;
  requires java.naming;
  requires java.net.http;

  exports io.mnistfl.data;
  exports io.mnistfl.metrics;
  exports io.mnistfl.predict;
  exports io.mnistfl.model;
  exports io.mnistfl.train;
  exports io.mnistfl.fl;
  exports io.mnistfl.fl.server;
  exports io.mnistfl.fl.site;
  exports io.mnistfl.fl.aggregate;
  exports io.mnistfl.fl.checkpoint;
  exports io.mnistfl.fl.secagg;
  exports io.mnistfl.fl.privacy;
  exports io.mnistfl.fl.sim;
  exports io.mnistfl.fl.wire;
  // PEM reading and argument checks, shared with the network transports; not API.
  exports io.mnistfl.internal to
      io.mnistfl.grpc;

  // JSON: specs, metrics, records, histories and checkpoints are read and written by Jackson.
  opens io.mnistfl.model to
      com.fasterxml.jackson.databind;
  opens io.mnistfl.metrics to
      com.fasterxml.jackson.databind;
  opens io.mnistfl.predict to
      com.fasterxml.jackson.databind;
  opens io.mnistfl.train to
      com.fasterxml.jackson.databind;
  opens io.mnistfl.fl to
      com.fasterxml.jackson.databind;
  opens io.mnistfl.fl.checkpoint to
      com.fasterxml.jackson.databind;
}
