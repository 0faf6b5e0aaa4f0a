package io.mnistfl.tf;

import java.util.Locale;

/**
 * Checks that TensorFlow's native library can load, and otherwise names the dependency to add: a
 * library leaves the choice of natives to the application, and a missing classifier would otherwise
 * surface as a bare {@link UnsatisfiedLinkError} deep inside the first model.
 */
final class Natives {
  private static volatile boolean loaded;

  private Natives() {}

  /** Loads the natives once, or fails naming the classifier this platform needs. */
  static void require() {
    if (loaded) {
      return;
    }
    try {
      org.tensorflow.TensorFlow.version();
      loaded = true;
    } catch (LinkageError e) {
      throw new IllegalStateException(
          missing(System.getProperty("os.name"), System.getProperty("os.arch")) + " (" + e + ")",
          e);
    }
  }

  /** The message for a platform: which artifact and classifier the application must add. */
  static String missing(String osName, String osArch) {
    return "TensorFlow's native library did not load: add the dependency"
        + " org.tensorflow:tensorflow-core-native:1.1.0 with classifier "
        + classifier(osName, osArch)
        + " to your application (linux-x86_64-gpu for CUDA)";
  }

  /** TensorFlow Java's classifier for a platform. */
  static String classifier(String osName, String osArch) {
    String os = osName.toLowerCase(Locale.ROOT);
    String arch = osArch.toLowerCase(Locale.ROOT);
    String platform = os.contains("win") ? "windows" : os.contains("mac") ? "macosx" : "linux";
    String cpu = arch.equals("aarch64") || arch.equals("arm64") ? "arm64" : "x86_64";
    return platform + "-" + cpu;
  }
}
