package io.mnistfl.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The README quotes its Java snippets and its dependency block from the readme app that `verify`
 * compiles and runs (src/it/readme-app), character for character, so the two cannot drift.
 */
class ReadmeTest {
  private static final Path README = Path.of("..", "README.md");
  private static final Path APP = Path.of("src", "it", "readme-app");

  /** The fenced blocks of one language in the README, in order. */
  private static List<String> blocks(String language) throws IOException {
    Matcher m =
        Pattern.compile("(?ms)^```" + language + "\\n(.*?)^```").matcher(Files.readString(README));
    List<String> out = new ArrayList<>();
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  /** The readme app's source files, whole, by name (module-info.java included). */
  private static Map<String, String> sources() throws IOException {
    Map<String, String> sources = new LinkedHashMap<>();
    Path root = APP.resolve("src/main/java");
    try (var files = Files.walk(root)) {
      for (Path f : files.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
        sources.put(root.relativize(f).toString(), Files.readString(f));
      }
    }
    return sources;
  }

  @Test
  void everyJavaBlockIsAWholeFileOfTheReadmeAppAndEveryFileIsQuoted() throws IOException {
    Map<String, String> sources = sources();
    List<String> snippets = blocks("java");
    assertThat(sources)
        .containsKeys(
            "module-info.java",
            "example/readme/Central.java",
            "example/readme/FederatedSimulation.java",
            "example/readme/SecureSimulation.java",
            "example/readme/GrpcFederation.java",
            "example/readme/MyTransport.java",
            "example/readme/EqualWeights.java",
            "example/readme/MyImages.java",
            "example/readme/OwnPictures.java");
    for (String snippet : snippets) {
      assertThat(sources.values())
          .as("a README java block that is not a whole file of the readme app:\n" + snippet)
          .contains(snippet);
    }
    for (Map.Entry<String, String> source : sources.entrySet()) {
      assertThat(snippets).as("the README quotes " + source.getKey()).contains(source.getValue());
    }
  }

  @Test
  void theThreeTerminalExampleIsTheScriptTheClusterTestRuns() throws IOException {
    String script = Files.readString(Path.of("src/test/resources/three-terminals.sh"));
    assertThat(blocks("bash")).contains(script);
  }

  @Test
  void theDependencyBlockIsTheReadmeAppsOwn() throws IOException {
    String pom = Files.readString(APP.resolve("pom.xml"));
    Matcher m =
        Pattern.compile("(?s)<!-- readme:dependencies -->\\n(.*?)\\n\\s*<!-- readme:end -->")
            .matcher(pom);
    assertThat(m.find()).isTrue();
    String block =
        m.group(1)
            .replace("@project.version@", System.getProperty("project.version", "0.2.0"))
            .stripIndent()
            .strip();
    assertThat(blocks("xml")).extracting(String::strip).contains(block);
  }

  @Test
  void theBomNamesTheVersionThisBuildMakes() throws IOException {
    Pattern version =
        Pattern.compile(
            "(?s)<artifactId>mnist-fl-parent</artifactId>\\s*<version>([^<]+)</version>");
    Matcher parent = version.matcher(Files.readString(Path.of("..", "pom.xml")));
    assertThat(parent.find()).isTrue();
    String bom = Files.readString(Path.of("..", "mnist-fl-bom", "pom.xml"));
    assertThat(bom)
        .contains(
            "<artifactId>mnist-fl-bom</artifactId>\n  <version>" + parent.group(1) + "</version>")
        .contains("<mnistfl.version>" + parent.group(1) + "</mnistfl.version>");
    // The README's block names the same version.
    assertThat(Files.readString(README))
        .contains("<artifactId>mnist-fl-bom</artifactId>\n      <version>" + parent.group(1));
  }
}
