package io.mnistfl.samples;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.spi.ToolProvider;
import org.junit.jupiter.api.Test;

/**
 * The library's packages depend on each other in one direction only: jdeps reads the compiled
 * classes of every module and any cycle among {@code io.mnistfl} packages fails the build, naming
 * it. The samples (the CLI) may use anything and are left out.
 */
class PackageCyclesTest {
  private static final Pattern EDGE =
      Pattern.compile("^\\s*(io\\.mnistfl[\\w.]*)\\s+->\\s+(io\\.mnistfl[\\w.]*)\\s");

  /** The library modules' compiled classes, next to this module. */
  private static List<Path> libraryClasses() {
    List<Path> dirs = new ArrayList<>();
    Path root = Path.of("").toAbsolutePath().getParent();
    for (String module : List.of("mnist-fl-api", "mnist-fl-grpc", "mnist-fl-tf")) {
      Path classes = root.resolve(module).resolve("target").resolve("classes");
      if (Files.isDirectory(classes)) {
        dirs.add(classes);
      }
    }
    return dirs;
  }

  /**
   * The test's class path but the module {@code dir} holds (as a folder or a jar): where jdeps
   * finds the modules that module requires.
   */
  private static String modulePath(Path dir) {
    String module = dir.getParent().getParent().getFileName().toString();
    List<String> entries = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      Path p = Path.of(entry).toAbsolutePath();
      if (!p.startsWith(dir.getParent().getParent())
          && !p.getFileName().toString().startsWith(module + "-")) {
        entries.add(entry);
      }
    }
    return String.join(java.io.File.pathSeparator, entries);
  }

  /** Package → packages it uses, among io.mnistfl's, from {@code jdeps -verbose:package}. */
  private static Map<String, Set<String>> dependencies(List<Path> dirs) {
    ToolProvider jdeps = ToolProvider.findFirst("jdeps").orElseThrow();
    Map<String, Set<String>> uses = new TreeMap<>();
    for (Path dir : dirs) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      int status =
          jdeps.run(
              new PrintStream(out, true, StandardCharsets.UTF_8),
              System.err,
              "-verbose:package",
              "-filter:none",
              "--ignore-missing-deps",
              "--multi-release",
              "17",
              "--module-path",
              modulePath(dir),
              dir.toString());
      assertThat(status).as("jdeps on %s", dir).isZero();
      for (String line : out.toString(StandardCharsets.UTF_8).split("\n")) {
        Matcher m = EDGE.matcher(line);
        if (m.find() && !m.group(1).equals(m.group(2))) {
          uses.computeIfAbsent(m.group(1), k -> new TreeSet<>()).add(m.group(2));
        }
      }
    }
    return uses;
  }

  /** The cycles, each as the packages around it, found by depth-first search. */
  static List<List<String>> cycles(Map<String, Set<String>> uses) {
    List<List<String>> found = new ArrayList<>();
    Set<String> done = new TreeSet<>();
    for (String start : uses.keySet()) {
      search(start, new ArrayList<>(), uses, done, found);
    }
    return found;
  }

  private static void search(
      String at,
      List<String> path,
      Map<String, Set<String>> uses,
      Set<String> done,
      List<List<String>> found) {
    int seen = path.indexOf(at);
    if (seen >= 0) {
      List<String> cycle = new ArrayList<>(path.subList(seen, path.size()));
      cycle.add(at);
      found.add(cycle);
      return;
    }
    if (done.contains(at)) {
      return;
    }
    path.add(at);
    for (String next : uses.getOrDefault(at, Set.of())) {
      search(next, path, uses, done, found);
    }
    path.remove(path.size() - 1);
    done.add(at);
  }

  @Test
  void theLibrarysPackagesHaveNoCycle() {
    List<Path> dirs = libraryClasses();
    assertThat(dirs).as("compiled library modules").isNotEmpty();
    Map<String, Set<String>> uses = dependencies(dirs);
    assertThat(uses).as("jdeps found the library's packages").containsKey("io.mnistfl.fl.server");
    assertThat(cycles(uses)).as("package cycles").isEmpty();
  }

  @Test
  void theSearchFindsACycle() {
    assertThat(
            cycles(
                new TreeMap<>(
                    Map.of(
                        "a", Set.of("b"),
                        "b", Set.of("c"),
                        "c", Set.of("a"),
                        "d", Set.of("a")))))
        .containsExactly(List.of("a", "b", "c", "a"));
  }
}
