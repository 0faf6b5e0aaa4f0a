package io.mnistfl.data;

/**
 * An example of a {@link DataSource} that a model cannot use: a label outside the model's classes,
 * a pixel outside [0, 1] or not a number, or a {@code copyImage} that writes outside its slot. The
 * message names the source, the index and the value, so that the bad row can be found.
 */
public final class InvalidExampleException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  /** The data source's name. */
  private final String source;

  /** The example's index in its source. */
  private final int index;

  /**
   * An invalid example.
   *
   * @param source the data source's name
   * @param index the example's index in that source
   * @param problem what is wrong with it, e.g. {@code label 11 is outside 0..9}
   */
  public InvalidExampleException(String source, int index, String problem) {
    super(source + ", example " + index + ": " + problem);
    this.source = source;
    this.index = index;
  }

  /**
   * The data source's name.
   *
   * @return the name
   */
  public String source() {
    return source;
  }

  /**
   * The example's index in its source.
   *
   * @return the index
   */
  public int index() {
    return index;
  }
}
