package io.mnistfl.tf;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A missing native library is reported as the dependency to add, for each platform. */
class NativesTest {

  @Test
  void namesTheClassifierOfEachPlatform() {
    assertThat(Natives.classifier("Linux", "amd64")).isEqualTo("linux-x86_64");
    assertThat(Natives.classifier("Linux", "aarch64")).isEqualTo("linux-arm64");
    assertThat(Natives.classifier("Mac OS X", "aarch64")).isEqualTo("macosx-arm64");
    assertThat(Natives.classifier("Windows 11", "amd64")).isEqualTo("windows-x86_64");
    assertThat(Natives.missing("Linux", "amd64"))
        .isEqualTo(
            "TensorFlow's native library did"
                + " not load: add the dependency org.tensorflow:tensorflow-core-native:1.1.0 with"
                + " classifier linux-x86_64 to your application (linux-x86_64-gpu for CUDA)");
  }

  @Test
  void loadsHereWhereTheTestsHaveTheNatives() {
    TfModel.requireNatives();
  }
}
