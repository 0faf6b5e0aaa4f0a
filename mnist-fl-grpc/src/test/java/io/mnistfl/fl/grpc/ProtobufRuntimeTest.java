package io.mnistfl.fl.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The newcomer's failure, reproduced: where TensorFlow's protobuf-java 3.21.9 wins over the one
 * this transport needs, starting a server fails at once with a message naming the artifact to
 * import, not with {@code NoClassDefFoundError: com/google/protobuf/RuntimeVersion$RuntimeDomain}.
 */
class ProtobufRuntimeTest {

  /** Starts a server in a JVM whose class path has protobuf-java 3.21.9 instead. */
  public static void main(String[] args) throws Exception {
    try (GrpcServer server =
        GrpcServer.builder(io.mnistfl.model.ModelSpec.baseline()).insecure().build().start()) {
      System.out.println("started on " + server.port());
    } catch (IllegalStateException e) {
      System.out.println("refused: " + e.getMessage());
    }
  }

  @Test
  void anOldProtobufRuntimeIsNamedBeforeAnyMessageIsTouched() throws Exception {
    Path old = Path.of("target", "old-protobuf", "protobuf-java-3.21.9.jar").toAbsolutePath();
    assertThat(old).isRegularFile();
    List<String> classPath = new ArrayList<>();
    int replaced = 0;
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (Path.of(entry).getFileName().toString().startsWith("protobuf-java-")) {
        classPath.add(old.toString());
        replaced++;
      } else {
        classPath.add(entry);
      }
    }
    assertThat(replaced).as("protobuf-java on the test's class path").isEqualTo(1);
    Process p =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp",
                String.join(File.pathSeparator, classPath),
                ProtobufRuntimeTest.class.getName())
            .redirectErrorStream(true)
            .start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(out)
        .startsWith(
            "refused: the gRPC transport needs com.google.protobuf:protobuf-java 4.31.1 or"
                + " newer, but the class path holds an older one")
        .contains("import io.mnistfl:mnist-fl-bom")
        .doesNotContain("NoClassDefFoundError");
  }
}
