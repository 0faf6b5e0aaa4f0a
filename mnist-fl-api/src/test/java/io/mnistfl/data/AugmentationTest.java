package io.mnistfl.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class AugmentationTest {
  private static float[] square() {
    float[] img = new float[28 * 28];
    for (int y = 10; y < 18; y++) {
      for (int x = 10; x < 18; x++) {
        img[y * 28 + x] = 1f;
      }
    }
    return img;
  }

  @Test
  void identityLeavesImagesUnchanged() {
    float[] src = square();
    float[] dst = new float[src.length];
    Augmentation.NONE.apply(src, 0, dst, 0, 28, 28, new SplittableRandom(1));
    assertThat(dst).containsExactly(src);
  }

  @Test
  void pureShiftMovesInkByWholePixels() {
    float[] src = square();
    float[] dst = new float[src.length];
    // Max shift 2 with a random draw; find the draw's effect by centre of mass.
    new Augmentation(0, 0, 2).apply(src, 0, dst, 0, 28, 28, new SplittableRandom(3));
    double mass = 0;
    for (float v : dst) {
      mass += v;
    }
    assertThat(mass).isCloseTo(64, within(1e-3));
    assertThat(centre(dst)[0] - 13.5).isBetween(-2.0, 2.0);
  }

  @Test
  void standardAugmentationIsSeededAndKeepsInkNearTheCentre() {
    float[] src = square();
    float[] a = new float[src.length];
    float[] b = new float[src.length];
    float[] c = new float[src.length];
    Augmentation.STANDARD.apply(src, 0, a, 0, 28, 28, new SplittableRandom(5));
    Augmentation.STANDARD.apply(src, 0, b, 0, 28, 28, new SplittableRandom(5));
    Augmentation.STANDARD.apply(src, 0, c, 0, 28, 28, new SplittableRandom(6));
    assertThat(a).containsExactly(b);
    assertThat(a).isNotEqualTo(c);
    double[] centre = centre(a);
    assertThat(centre[0]).isBetween(13.5 - 3.5, 13.5 + 3.5);
    assertThat(centre[1]).isBetween(13.5 - 3.5, 13.5 + 3.5);
  }

  @Test
  void rejectsNonsenseSettings() {
    assertThatThrownBy(() -> new Augmentation(0, 1.5, 0))
        .hasMessageContaining("maxZoom must be in [0, 1), was 1.5");
  }

  private static double[] centre(float[] img) {
    double mass = 0;
    double mx = 0;
    double my = 0;
    for (int y = 0; y < 28; y++) {
      for (int x = 0; x < 28; x++) {
        mass += img[y * 28 + x];
        mx += x * img[y * 28 + x];
        my += y * img[y * 28 + x];
      }
    }
    return new double[] {mx / mass, my / mass};
  }
}
