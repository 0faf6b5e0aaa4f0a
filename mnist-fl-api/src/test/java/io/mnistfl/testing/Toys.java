package io.mnistfl.testing;

import io.mnistfl.fl.Client;
import io.mnistfl.fl.ClientEvaluation;
import io.mnistfl.fl.ClientUpdate;
import io.mnistfl.fl.RoundConfig;
import io.mnistfl.fl.aggregate.WeightMath;
import io.mnistfl.fl.server.GlobalEvaluator;
import io.mnistfl.metrics.ConfusionMatrix;
import io.mnistfl.metrics.Metrics;
import io.mnistfl.model.Initializer;
import io.mnistfl.model.ModelSpec;
import io.mnistfl.model.Weights;
import java.util.List;

/**
 * Arithmetic sites for round-loop tests: a two-class "model" of 1 × 1 images (a dense kernel of 2
 * values and a bias of 2), sites that move every weight halfway towards their target, and a test
 * "accuracy" of 1 − |w₀ − 4| / 4, so that reaching weight 4 means accuracy 1.
 */
public final class Toys {
  /** The toy model: flatten, then 2 logits. */
  public static final ModelSpec SPEC =
      ModelSpec.builder()
          .name("toy")
          .input(1, 1)
          .numClasses(2)
          .flatten()
          .logits(Initializer.GLOROT_UNIFORM)
          .build();

  private Toys() {}

  /** All-zero weights of the toy model. */
  public static Weights zeros() {
    return WeightMath.withValues(
        SPEC.initialWeights(), WeightMath.zerosLike(SPEC.initialWeights()));
  }

  /** The first weight. */
  public static float first(Weights w) {
    return w.arrays().get(0).values()[0];
  }

  /** Every weight, in order. */
  public static float[] all(Weights w) {
    return new float[] {
      w.arrays().get(0).values()[0],
      w.arrays().get(0).values()[1],
      w.arrays().get(1).values()[0],
      w.arrays().get(1).values()[1]
    };
  }

  /** Test "accuracy" = 1 − |w₀ − 4| / 4 in whole percent. */
  public static final GlobalEvaluator EVALUATOR =
      weights -> {
        double w = first(weights);
        int correct = (int) Math.round(100 * Math.max(0, 1 - Math.abs(w - 4) / 4));
        int[] actual = new int[100];
        int[] predicted = new int[100];
        for (int i = correct; i < 100; i++) {
          predicted[i] = 1;
        }
        return Metrics.of(2, actual, predicted, 1 - correct / 100.0);
      };

  /** Moves every weight halfway towards its target; evaluates 2 examples, one right. */
  public record Toward(String id, int numExamples, float target) implements Client {
    @Override
    public ClientUpdate fit(Weights global, RoundConfig config) {
      double[][] v = WeightMath.toDouble(global);
      for (double[] row : v) {
        for (int i = 0; i < row.length; i++) {
          row[i] += (target - row[i]) / 2;
        }
      }
      return new ClientUpdate(id, WeightMath.withValues(global, v), numExamples, target, 0);
    }

    @Override
    public ClientEvaluation evaluate(Weights weights, RoundConfig config) {
      return new ClientEvaluation(
          id, 2, 0.5, ConfusionMatrix.of(2, new int[] {0, 1}, new int[] {0, 0}));
    }
  }

  /** Sites a, b, c, d with different sizes and targets. */
  public static List<Client> four() {
    return List.of(
        new Toward("a", 1, 4),
        new Toward("b", 2, 8),
        new Toward("c", 3, -2),
        new Toward("d", 4, 1));
  }
}
