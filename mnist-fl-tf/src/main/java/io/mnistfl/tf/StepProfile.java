package io.mnistfl.tf;

import io.mnistfl.data.Augmentation;
import io.mnistfl.data.DataSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.tensorflow.Result;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.proto.DeviceStepStats;
import org.tensorflow.proto.NodeExecStats;
import org.tensorflow.proto.RunOptions;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * Where a training step's time goes: its wall time per step, and TensorFlow's own timing of every
 * op it ran ({@code RunOptions} {@code FULL_TRACE}), summed by op type. When the ops' times add up
 * to the wall time, the step is bound by its kernels, not by session runs or feeding.
 *
 * @param batchSize examples per step
 * @param wallMillis mean wall time of an untraced step, feeding included
 * @param opMillis mean sum of the ops' own times in a traced step
 * @param ops op types by time spent, the largest first
 */
public record StepProfile(int batchSize, double wallMillis, double opMillis, List<OpTime> ops) {

  /**
   * One op type's share of a step.
   *
   * @param type TensorFlow's op type, as run (oneDNN's {@code _Mkl…} rewrites included)
   * @param millis mean time per step
   * @param count ops of this type per step
   */
  public record OpTime(String type, double millis, double count) {}

  /**
   * Copies the op list.
   *
   * @param batchSize examples per step
   * @param wallMillis mean wall time of an untraced step, feeding included
   * @param opMillis mean sum of the ops' own times in a traced step
   * @param ops op types by time spent, the largest first
   */
  public StepProfile {
    ops = List.copyOf(ops);
  }

  /**
   * Trains {@code model} on one batch of {@code data}'s first examples (the spec's batch size, at
   * the spec's learning rate) for {@code steps} warm-up, {@code steps} timed and {@code min(steps,
   * 50)} traced steps. The model's weights change.
   *
   * @param model the model to profile
   * @param data at least one example
   * @param steps steps per phase, {@code >= 1}
   * @return the profile
   */
  public static StepProfile measure(TfModel model, DataSource data, int steps) {
    if (steps < 1) {
      throw new IllegalArgumentException("steps must be >= 1, was " + steps);
    }
    if (data.size() == 0) {
      throw new IllegalArgumentException("data " + data.name() + " is empty");
    }
    ModelGraph g = model.graph();
    int batch = Math.min(model.spec().batchSize(), data.size());
    BatchProducer.Batch examples =
        new BatchProducer(
                data,
                model.spec().numClasses(),
                IntStream.range(0, batch).toArray(),
                batch,
                Augmentation.NONE,
                0,
                Runnable::run)
            .build(0);
    ModelGraph.TrainHead head = g.head(batch);
    try (TFloat32 x =
            TFloat32.tensorOf(
                Shape.of(batch, data.height(), data.width(), 1),
                DataBuffers.of(examples.images(), true, false));
        TInt32 y =
            TInt32.tensorOf(Shape.of(batch), DataBuffers.of(examples.labels(), true, false));
        TFloat32 lr = TFloat32.scalarOf((float) model.spec().optimizer().learningRate())) {
      Runnable step =
          () -> {
            try (Result r = runner(g, head, x, y, lr).run()) {
              // The loss is fetched as in training, so the step does what a real one does.
            }
          };
      for (int s = 0; s < steps; s++) {
        step.run();
      }
      long start = System.nanoTime();
      for (int s = 0; s < steps; s++) {
        step.run();
      }
      double wall = (System.nanoTime() - start) / 1e6 / steps;
      int traced = Math.min(steps, 50);
      Map<String, double[]> byType = new LinkedHashMap<>();
      RunOptions trace =
          RunOptions.newBuilder().setTraceLevel(RunOptions.TraceLevel.FULL_TRACE).build();
      for (int s = 0; s < traced; s++) {
        try (Result r = runner(g, head, x, y, lr).setOptions(trace).runAndFetchMetadata()) {
          for (DeviceStepStats device :
              r.getMetadata().orElseThrow().getStepStats().getDevStatsList()) {
            for (NodeExecStats node : device.getNodeStatsList()) {
              double[] sum = byType.computeIfAbsent(type(node), t -> new double[2]);
              sum[0] += (node.getOpEndRelMicros() - node.getOpStartRelMicros()) / 1e3;
              sum[1]++;
            }
          }
        }
      }
      List<OpTime> ops = new ArrayList<>();
      double total = 0;
      for (Map.Entry<String, double[]> e : byType.entrySet()) {
        ops.add(new OpTime(e.getKey(), e.getValue()[0] / traced, e.getValue()[1] / traced));
        total += e.getValue()[0] / traced;
      }
      ops.sort(Comparator.comparingDouble(OpTime::millis).reversed());
      return new StepProfile(batch, wall, total, ops);
    }
  }

  private static Session.Runner runner(
      ModelGraph g, ModelGraph.TrainHead head, TFloat32 x, TInt32 y, TFloat32 lr) {
    return g.session
        .runner()
        .feed(g.images, x)
        .feed(g.labels, y)
        .feed(g.learningRate, lr)
        .addTarget(head.step())
        .fetch(head.meanLoss())
        .fetch(head.correct());
  }

  /** The op type from a timeline label {@code "name = Type(inputs)"}, else the node's name. */
  private static String type(NodeExecStats node) {
    String label = node.getTimelineLabel();
    int eq = label.indexOf(" = ");
    if (eq < 0) {
      return node.getNodeName();
    }
    int paren = label.indexOf('(', eq);
    return label.substring(eq + 3, paren < 0 ? label.length() : paren);
  }
}
