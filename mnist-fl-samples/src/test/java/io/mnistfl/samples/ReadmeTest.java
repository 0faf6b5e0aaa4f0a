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

  /** The regions of the example class, by name, each dedented to its first line. */
  private static Map<String, String> regions() throws IOException {
    List<String> lines =
        Files.readAllLines(APP.resolve("src/main/java/example/readme/ReadmeExamples.java"));
    Map<String, String> regions = new LinkedHashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.startsWith("// region: ")) {
        String name = line.substring("// region: ".length());
        int indent = lines.get(i + 1).length() - lines.get(i + 1).stripLeading().length();
        StringBuilder text = new StringBuilder();
        for (i++; !lines.get(i).strip().equals("// endregion"); i++) {
          String l = lines.get(i);
          text.append(
                  l.isBlank()
                      ? ""
                      : l.substring(Math.min(indent, l.length() - l.stripLeading().length())))
              .append('\n');
        }
        regions.put(name, text.toString());
      }
    }
    return regions;
  }

  @Test
  void everyJavaSnippetIsARegionOfTheReadmeAppAndEveryRegionIsQuoted() throws IOException {
    Map<String, String> regions = regions();
    List<String> snippets = blocks("java");
    assertThat(regions)
        .containsKeys("central", "federated", "transport", "aggregator", "data-source", "pictures");
    assertThat(snippets).as("README java blocks").hasSize(regions.size());
    for (String snippet : snippets) {
      assertThat(regions.values())
          .as("a README snippet that is no region of the readme app:\n" + snippet)
          .contains(snippet);
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
            .replace("@project.version@", System.getProperty("project.version", "0.1.0-SNAPSHOT"))
            .stripIndent()
            .strip();
    assertThat(blocks("xml")).extracting(String::strip).contains(block);
  }
}
