package io.mnistfl.train;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/** JSON for this library's records (specs, metrics, training records, histories). */
public final class Json {
  private static final ObjectMapper MAPPER =
      new ObjectMapper()
          .registerModule(new Jdk8Module())
          .enable(SerializationFeature.INDENT_OUTPUT)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private Json() {}

  /**
   * Writes {@code value} as indented JSON to {@code file}, through a temporary file moved into
   * place, so a reader (or a run resumed after a crash) never sees half of it.
   *
   * @param file the file to write
   * @param value the value, as Jackson writes it
   * @throws IOException when the file cannot be written or moved into place
   */
  public static void write(Path file, Object value) throws IOException {
    writeAtomically(
        file, (toJson(value) + System.lineSeparator()).getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Writes {@code bytes} to a temporary file next to {@code file}, then moves it into place, so the
   * file appears whole or not at all (for binary files saved beside JSON ones).
   *
   * @param file the file to write
   * @param bytes its content
   * @throws IOException when the file cannot be written or moved into place
   */
  public static void writeAtomically(Path file, byte[] bytes) throws IOException {
    Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
    Files.write(temporary, bytes);
    Files.move(
        temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /**
   * Reads {@code file} as a {@code type}; the error names the file.
   *
   * @param <T> the type read
   * @param file the file to read
   * @param type the type read
   * @return the value
   * @throws IOException naming the file when it cannot be read or is not a valid {@code type}
   */
  public static <T> T read(Path file, Class<T> type) throws IOException {
    try {
      return MAPPER.readValue(file.toFile(), type);
    } catch (IOException e) {
      throw new IOException(
          file + ": not a valid " + type.getSimpleName() + " (" + e.getMessage() + ")", e);
    }
  }

  /**
   * Reads {@code json} as a {@code type}.
   *
   * @param json the text
   * @param type what it holds
   * @param <T> the type
   * @return the value
   * @throws IOException saying what is malformed
   */
  public static <T> T parse(String json, Class<T> type) throws IOException {
    try {
      return MAPPER.readValue(json, type);
    } catch (IOException e) {
      throw new IOException("not a valid " + type.getSimpleName() + " (" + e.getMessage() + ")", e);
    }
  }

  /**
   * Reads {@code file} as a JSON array of {@code element}s; the error names the file.
   *
   * @param <T> the element type
   * @param file the file to read
   * @param element the element type
   * @return the elements, in order
   * @throws IOException naming the file when it cannot be read or is not a valid list
   */
  public static <T> List<T> readList(Path file, Class<T> element) throws IOException {
    try {
      return MAPPER.readValue(
          file.toFile(), MAPPER.getTypeFactory().constructCollectionType(List.class, element));
    } catch (IOException e) {
      throw new IOException(
          file + ": not a valid list of " + element.getSimpleName() + " (" + e.getMessage() + ")",
          e);
    }
  }

  /**
   * Whether {@code file} holds a JSON object with a top-level field {@code name}.
   *
   * @param file the file to read
   * @param name the field's name
   * @return whether the field is there
   * @throws IOException naming the file when it cannot be read or is not valid JSON
   */
  public static boolean hasField(Path file, String name) throws IOException {
    try {
      return MAPPER.readTree(file.toFile()).has(name);
    } catch (IOException e) {
      throw new IOException(file + ": not valid JSON (" + e.getMessage() + ")", e);
    }
  }

  /**
   * {@code value} as indented JSON.
   *
   * @param value the value, as Jackson writes it
   * @return the JSON text
   * @throws IllegalArgumentException when Jackson cannot write the value
   */
  public static String toJson(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot write " + value.getClass() + " as JSON", e);
    }
  }
}
