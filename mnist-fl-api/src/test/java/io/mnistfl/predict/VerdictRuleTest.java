package io.mnistfl.predict;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Blank, too much ink, too unsure, or a digit. */
class VerdictRuleTest {
  private static final VerdictRule RULE = new VerdictRule(0.8, 0.4);

  private static float[] inked(int pixels) {
    float[] image = new float[784];
    for (int i = 0; i < pixels; i++) {
      image[i] = 1f;
    }
    return image;
  }

  private static float[] probabilities(int best, float p) {
    float[] out = new float[10];
    java.util.Arrays.fill(out, (1 - p) / 9);
    out[best] = p;
    out[(best + 1) % 10] += 0.0001f; // a clear second
    return out;
  }

  @Test
  void noInkIsBlankWhateverTheModelSays() {
    float[] faint = new float[784];
    faint[300] = 0.3f;
    assertThat(RULE.judge(faint, probabilities(3, 0.99f))).isEqualTo(new Verdict.Blank());
    assertThat(new Verdict.Blank().top()).isEmpty();
  }

  @Test
  void aConfidentAnswerIsADigitWithItsTopThree() {
    Verdict v = RULE.judge(inked(120), probabilities(7, 0.95f));
    assertThat(v).isInstanceOf(Verdict.Digit.class);
    Verdict.Digit d = (Verdict.Digit) v;
    assertThat(d.digit()).isEqualTo(7);
    assertThat(d.probability()).isCloseTo(0.95, org.assertj.core.data.Offset.offset(1e-6));
    assertThat(d.top()).hasSize(3);
    assertThat(d.top().get(0).digit()).isEqualTo(7);
    assertThat(d.top().get(1).digit()).isEqualTo(8);
  }

  @Test
  void belowTheThresholdIsUnsureAndSaysWhy() {
    Verdict v = RULE.judge(inked(120), probabilities(2, 0.79f));
    assertThat(v).isInstanceOf(Verdict.Unsure.class);
    assertThat(((Verdict.Unsure) v).reason())
        .isEqualTo("unsure: the most probable digit, 2, has probability 0.79, below 0.80");
    assertThat(v.top().get(0).digit()).isEqualTo(2);
    assertThat(RULE.judge(inked(120), probabilities(2, 0.80f))).isInstanceOf(Verdict.Digit.class);
  }

  @Test
  void aBlobWithMoreInkThanAnyDigitIsNotADigitHoweverSure() {
    Verdict v = RULE.judge(inked(400), probabilities(8, 0.999f));
    assertThat(v).isInstanceOf(Verdict.Unsure.class);
    assertThat(((Verdict.Unsure) v).reason()).startsWith("not a digit: 51 % of the picture is ink");
    assertThat(RULE.judge(inked(313), probabilities(8, 0.999f))).isInstanceOf(Verdict.Digit.class);
  }

  @Test
  void boundsAreChecked() {
    assertThatThrownBy(() -> new VerdictRule(1.5, 0.4)).hasMessageContaining("minProbability");
    assertThatThrownBy(() -> new VerdictRule(0.5, 0)).hasMessageContaining("maxInk");
  }
}
