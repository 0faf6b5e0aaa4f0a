package io.mnistfl.samples;

import io.mnistfl.data.DataSource;
import io.mnistfl.fl.http.ClientEndpoint;
import io.mnistfl.fl.http.SharedKey;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.tf.TfClient;
import io.mnistfl.tf.TfModel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** One federated client in its own process, served over HTTP for {@code federate --remote}. */
@Command(name = "client", mixinStandardHelpOptions = true,
    description = "Serve one federated client over HTTP for `federate --remote ID=URI,...`. It"
        + " trains on the site's own pictures (--images) or, as a demo, on part K of N of"
        + " MNIST's training set, and sends the server only weights. Runs until stopped"
        + " (Ctrl-C).")
final class ClientCommand implements Callable<Integer> {
  @Option(names = "--id", description = "Client id (default: client-<index>).")
  String id;

  @Option(names = "--host", defaultValue = "localhost",
      description = "Interface to listen on; 0.0.0.0 for all (default: ${DEFAULT-VALUE}).")
  String host;

  @Option(names = "--port", defaultValue = "8471",
      description = "Port to listen on; 0 for any free one (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--index", defaultValue = "0",
      description = "K: which of the --clients parts this one holds, 0 to N-1 (default:"
          + " ${DEFAULT-VALUE}).")
  int index;

  @Option(names = "--model", defaultValue = "regularized",
      description = "The server's model: baseline, regularized or mcmahan-cnn (default:"
          + " ${DEFAULT-VALUE}).")
  String model;

  @Option(names = "--federated-eval", paramLabel = "FRACTION", defaultValue = "0",
      description = "Hold out this share of the part for federated evaluation (default: none).")
  double heldOut;

  @Option(names = "--seed", defaultValue = "42",
      description = "Seed of the split; the same N, partition and seed give disjoint parts"
          + " (default: ${DEFAULT-VALUE}).")
  long seed;

  @Mixin ImagesOption images;
  @Mixin KeyOption key;
  @Mixin PartitionOptions parts;
  @Mixin DataOptions data;
  @Mixin ThreadOptions threads;

  /** A started client: its endpoint and the model it trains. */
  record Serving(ClientEndpoint endpoint, TfModel model) implements AutoCloseable {
    @Override
    public void close() {
      endpoint.close();
      model.close();
    }
  }

  @Override
  public Integer call() throws Exception {
    Serving serving = start();
    Runtime.getRuntime().addShutdownHook(new Thread(serving::close));
    new CountDownLatch(1).await();
    return 0;
  }

  /** Loads the data, builds the model and starts serving; returns at once. */
  Serving start() throws IOException {
    if (index < 0 || index >= parts.clients) {
      throw new IllegalArgumentException(
          "index must be in [0, " + parts.clients + "), was " + index);
    }
    ModelSpec spec = ModelSpec.preset(model).withSeed(seed);
    parts.partitioning();
    String name = id != null ? id : "client-" + index;
    Optional<SharedKey> shared = key.load();
    DataSource local;
    int[] part;
    String source;
    if (images.dir.isPresent()) {
      local = images.load().images();
      part = IntStream.range(0, local.size()).toArray();
      source = local.name();
    } else {
      local = data.load().train();
      part = parts.split(local, seed).get(index);
      source = "part " + index + " of " + parts;
    }
    TfModel tf = TfModel.create(spec, threads.tfOptions());
    try {
      TfClient named = TfClient.ofPart(name, tf, local, part, heldOut);
      InetSocketAddress address = new InetSocketAddress(host, port);
      ClientEndpoint endpoint = shared.isPresent()
          ? ClientEndpoint.start(named, address, shared.get())
          : ClientEndpoint.start(named, address);
      System.out.printf("%s: %s, %,d training examples, model %s; serving"
              + " http://%s:%d/%s (Ctrl-C to stop)%n", name, source,
          named.numExamples(), spec.name(), host, endpoint.port(),
          shared.isPresent() ? " to the holder of the shared key only" : "");
      return new Serving(endpoint, tf);
    } catch (IOException | RuntimeException e) {
      tf.close();
      throw e;
    }
  }
}
