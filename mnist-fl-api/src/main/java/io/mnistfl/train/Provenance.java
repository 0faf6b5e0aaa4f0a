package io.mnistfl.train;

import io.mnistfl.model.ModelSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Where a model came from, saved with it and with every checkpoint: the spec, every setting that
 * determines the result (named, e.g. {@code training.epochs} or {@code strategy.aggregator}), the
 * training data, the sites that took part and the library and backend versions. {@link
 * #conflictsWith} tells a resumed run whether it would continue the same computation.
 *
 * @param kind {@code central} or {@code federated}
 * @param spec the network and its optimizer
 * @param settings every setting that determines the result, by name; a run resumes only with equal
 *     ones
 * @param sites the ids of the federated sites known when it was saved (may change on resume)
 * @param data the training data's name
 * @param trainExamples training examples the server knows of (0 when sites keep their count)
 * @param library this library's version
 * @param backend the backend and its version, e.g. {@code tensorflow-java 1.1.0}
 * @param createdAt ISO-8601 instant of the save
 */
public record Provenance(
    String kind,
    ModelSpec spec,
    SortedMap<String, String> settings,
    List<String> sites,
    String data,
    long trainExamples,
    String library,
    String backend,
    String createdAt) {

  /** This library's version, from the build. */
  public static final String LIBRARY = "mnist-fl " + version();

  /**
   * Copies the collections.
   *
   * @param kind {@code central} or {@code federated}
   * @param spec the network and its optimizer
   * @param settings every setting that determines the result, by name
   * @param sites the ids of the federated sites known when it was saved
   * @param data the training data's name
   * @param trainExamples training examples the server knows of
   * @param library this library's version
   * @param backend the backend and its version
   * @param createdAt ISO-8601 instant of the save
   */
  public Provenance {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(spec, "spec");
    settings = new TreeMap<>(settings);
    sites = List.copyOf(sites);
  }

  /**
   * A builder for a model of {@code spec}, of kind {@code central}.
   *
   * @param spec the model's spec
   * @return the builder
   */
  public static Builder builder(ModelSpec spec) {
    return new Builder(spec);
  }

  /**
   * What keeps a run saved with {@code saved} from going on as this one: a different spec or
   * setting, each named with both values. Empty when it may resume.
   *
   * @param saved the provenance of the saved run
   * @return one line per conflict
   */
  public List<String> conflictsWith(Provenance saved) {
    List<String> conflicts = new ArrayList<>();
    if (!kind.equals(saved.kind)) {
      conflicts.add("kind: saved " + saved.kind + ", now " + kind);
    }
    if (!spec.equals(saved.spec)) {
      conflicts.add(
          "model: saved "
              + saved.spec.name()
              + " "
              + saved.spec
              + ", now "
              + spec.name()
              + " "
              + spec);
    }
    TreeSet<String> names = new TreeSet<>(settings.keySet());
    names.addAll(saved.settings.keySet());
    for (String name : names) {
      String was = saved.settings.getOrDefault(name, "(not set)");
      String now = settings.getOrDefault(name, "(not set)");
      if (!was.equals(now)) {
        conflicts.add(name + ": saved " + was + ", now " + now);
      }
    }
    return conflicts;
  }

  /**
   * Differences that may change results in the last digits only: library or backend version.
   *
   * @param saved the provenance of the saved run
   * @return one line per difference
   */
  public List<String> versionWarnings(Provenance saved) {
    List<String> warnings = new ArrayList<>();
    if (!library.equals(saved.library)) {
      warnings.add("saved by " + saved.library + ", resumed by " + library);
    }
    if (!backend.equals(saved.backend)) {
      warnings.add("saved with " + saved.backend + ", resumed with " + backend);
    }
    return warnings;
  }

  /** Builds a {@link Provenance}; the library version and the time are filled in. */
  public static final class Builder {
    private final ModelSpec spec;
    private String kind = "central";
    private final SortedMap<String, String> settings = new TreeMap<>();
    private List<String> sites = List.of();
    private String data = "";
    private long trainExamples;
    private String backend = "";

    private Builder(ModelSpec spec) {
      this.spec = Objects.requireNonNull(spec, "spec");
    }

    /**
     * {@code central} (the default) or {@code federated}.
     *
     * @param value the kind
     * @return this builder
     */
    public Builder kind(String value) {
      this.kind = Objects.requireNonNull(value, "kind");
      return this;
    }

    /**
     * Adds one setting that determines the result.
     *
     * @param name the setting's name
     * @param value its value, recorded as a string
     * @return this builder
     */
    public Builder setting(String name, Object value) {
      settings.put(name, String.valueOf(value));
      return this;
    }

    /**
     * Adds settings that determine the result, each name prefixed with {@code prefix.}.
     *
     * @param prefix prefixed to every name
     * @param values the settings, by name
     * @return this builder
     */
    public Builder settings(String prefix, Map<String, String> values) {
      values.forEach((k, v) -> settings.put(prefix + "." + k, v));
      return this;
    }

    /**
     * The federated sites known now.
     *
     * @param value the sites' ids
     * @return this builder
     */
    public Builder sites(List<String> value) {
      this.sites = List.copyOf(value);
      return this;
    }

    /**
     * The training data and how many examples the server knows of.
     *
     * @param name the data set's name
     * @param examples the number of training examples
     * @return this builder
     */
    public Builder data(String name, long examples) {
      this.data = Objects.requireNonNull(name, "data");
      this.trainExamples = examples;
      return this;
    }

    /**
     * The backend and its version.
     *
     * @param value the backend's name and version
     * @return this builder
     */
    public Builder backend(String value) {
      this.backend = Objects.requireNonNull(value, "backend");
      return this;
    }

    /**
     * The provenance, stamped with this library's version and the current time.
     *
     * @return the provenance
     */
    public Provenance build() {
      return new Provenance(
          kind,
          spec,
          settings,
          sites,
          data,
          trainExamples,
          LIBRARY,
          backend,
          Instant.now().toString());
    }
  }

  private static String version() {
    try (InputStream in = Provenance.class.getResourceAsStream("version.properties")) {
      Properties p = new Properties();
      if (in != null) {
        p.load(in);
      }
      return p.getProperty("version", "unknown");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
