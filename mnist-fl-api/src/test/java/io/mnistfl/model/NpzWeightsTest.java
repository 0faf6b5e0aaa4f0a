package io.mnistfl.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code .npy} and {@code .npz} against the arrays NumPy wrote (src/test/resources/…/npz, made by
 * its make_golden.py), and every refusal a hostile or wrong file should meet. The {@code .npz}
 * files are assembled here, as {@code np.savez} stores them, from {@code .npy} entries whose bytes
 * are checked against NumPy's; a container NumPy wrote itself is read by the Flower federation
 * tests (a run's {@code final.npz}).
 */
class NpzWeightsTest {
  @TempDir Path dir;

  static final ModelSpec TINY =
      ModelSpec.builder()
          .name("tiny")
          .input(4, 4)
          .flatten()
          .dense(3)
          .relu()
          .logits(Initializer.GLOROT_UNIFORM)
          .build();

  /** The arrays make_golden.py wrote: array k holds (arange(size) - 7) / 4 + k. */
  static Weights golden() {
    List<Weights.NamedArray> arrays = new ArrayList<>();
    List<ParameterShape> params = TINY.parameters();
    for (int k = 0; k < params.size(); k++) {
      float[] v = new float[params.get(k).size()];
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) ((i - 7) / 4.0 + k);
      }
      arrays.add(new Weights.NamedArray(params.get(k).name(), params.get(k).shape(), v));
    }
    return new Weights(arrays);
  }

  static byte[] resource(String name) throws IOException {
    try (InputStream in = NpzWeightsTest.class.getResourceAsStream("npz/" + name)) {
      return in.readAllBytes();
    }
  }

  /** An array as NumPy saves it in float64: descr {@code '<f8'}, 8 bytes a value. */
  static byte[] float64Npy(Weights.NamedArray a) {
    byte[] f32 = Npy.encode(a.shape(), a.values());
    int header = f32.length - 4 * a.values().length;
    String text = new String(f32, 0, header, StandardCharsets.ISO_8859_1).replace("'<f4'", "'<f8'");
    ByteBuffer buf =
        ByteBuffer.allocate(header + 8 * a.values().length).order(ByteOrder.LITTLE_ENDIAN);
    buf.put(text.getBytes(StandardCharsets.ISO_8859_1));
    for (float v : a.values()) {
      buf.putDouble(v);
    }
    return buf.array();
  }

  /**
   * An {@code .npz} as {@code np.savez} stores it: entry {@code i} named {@code names.get(i)},
   * holding {@code npys.get(i)}, uncompressed.
   */
  Path npz(String file, List<String> names, List<byte[]> npys) throws IOException {
    Path path = dir.resolve(file);
    try (OutputStream out = Files.newOutputStream(path)) {
      NpzWeights.writeStored(names, npys, out);
    }
    return path;
  }

  /** The golden arrays in {@code order}, as {@code np.savez(*arrays)} names them. */
  Path positional(String file, Function<Weights.NamedArray, byte[]> npy, int... order)
      throws IOException {
    List<Weights.NamedArray> arrays = golden().arrays();
    List<String> names = new ArrayList<>();
    List<byte[]> npys = new ArrayList<>();
    for (int i = 0; i < order.length; i++) {
      names.add("arr_" + i + ".npy");
      npys.add(npy.apply(arrays.get(order[i])));
    }
    return npz(file, names, npys);
  }

  static byte[] float32Npy(Weights.NamedArray a) {
    return Npy.encode(a.shape(), a.values());
  }

  @Test
  void float64EntriesAreTheBytesNumpySaves() throws IOException {
    assertThat(float64Npy(golden().arrays().get(0))).isEqualTo(resource("float64.npy"));
  }

  @Test
  void encodesExactlyTheBytesNumpySaves() throws IOException {
    Weights.NamedArray kernel = golden().arrays().get(0);
    assertThat(Npy.encode(kernel.shape(), kernel.values())).isEqualTo(resource("kernel.npy"));
    assertThat(Npy.encode(new int[0], new float[] {2.5f})).isEqualTo(resource("scalar.npy"));
    assertThat((long) resource("kernel.npy").length).isLessThan(Npy.maxLength(kernel.shape()));
  }

  @Test
  void decodesWhatNumpySaved() throws IOException {
    Weights.NamedArray kernel = golden().arrays().get(0);
    assertThat(Npy.decode(resource("kernel.npy"), new int[] {16, 3}, "k"))
        .containsExactly(kernel.values());
    assertThat(Npy.decode(resource("scalar.npy"), new int[0], "s")).containsExactly(2.5f);
  }

  @Test
  void readsNamedAndPositionalEntries() throws IOException {
    List<Weights.NamedArray> arrays = golden().arrays();
    Path named =
        npz(
            "tiny-named.npz",
            arrays.stream().map(a -> a.name() + ".npy").toList(),
            arrays.stream().map(NpzWeightsTest::float32Npy).toList());
    assertThat(NpzWeights.read(named, TINY)).isEqualTo(golden());
    Path positional = positional("tiny-positional.npz", NpzWeightsTest::float32Npy, 0, 1, 2, 3);
    assertThat(NpzWeights.read(positional, TINY)).isEqualTo(golden());
  }

  @Test
  void writesEntriesNamedInModelOrderWithNumpysBytes() throws IOException {
    Path file = dir.resolve("out/w.npz");
    NpzWeights.write(golden(), file);
    try (ZipFile zip = new ZipFile(file.toFile())) {
      assertThat(zip.stream().map(ZipEntry::getName))
          .containsExactly(
              "dense_1/kernel.npy", "dense_1/bias.npy", "dense_3/kernel.npy", "dense_3/bias.npy");
      try (InputStream in = zip.getInputStream(zip.getEntry("dense_1/kernel.npy"))) {
        assertThat(in.readAllBytes()).isEqualTo(resource("kernel.npy"));
      }
    }
    assertThat(NpzWeights.read(file, TINY)).isEqualTo(golden());
    ByteArrayOutputStream again = new ByteArrayOutputStream();
    NpzWeights.write(golden(), again);
    assertThat(again.toByteArray()).as("deterministic").isEqualTo(Files.readAllBytes(file));
  }

  @Test
  void baselineRoundTrips() throws IOException {
    Weights w = ModelSpec.baseline().initialWeights();
    Path file = dir.resolve("baseline.npz");
    NpzWeights.write(w, file);
    assertThat(NpzWeights.read(file, ModelSpec.baseline())).isEqualTo(w);
  }

  @Test
  void refusesFloat64NamingTheEntry() throws IOException {
    assertThatThrownBy(
            () ->
                NpzWeights.read(
                    positional("tiny-float64.npz", NpzWeightsTest::float64Npy, 0, 1, 2, 3), TINY))
        .isInstanceOf(WeightsFormatException.class)
        .hasMessageContaining("arr_0.npy")
        .hasMessageContaining("dtype float64 ('<f8'), expected float32");
  }

  @Test
  void refusesArraysOutOfOrderNamingTheShapes() throws IOException {
    assertThatThrownBy(
            () ->
                NpzWeights.read(
                    positional("tiny-swapped.npz", NpzWeightsTest::float32Npy, 1, 0, 2, 3), TINY))
        .isInstanceOf(WeightsFormatException.class)
        .hasMessageContaining("arr_0.npy: shape [3], expected [16, 3]");
  }

  @Test
  void refusesAnotherModelsFileByItsArrayCount() throws IOException {
    Path file = dir.resolve("baseline.npz");
    NpzWeights.write(ModelSpec.baseline().initialWeights(), file);
    assertThatThrownBy(() -> NpzWeights.read(file, ModelSpec.mcmahanCnn()))
        .isInstanceOf(WeightsFormatException.class)
        .hasMessageContaining("6 arrays, mcmahan-cnn has 8");
    assertThatThrownBy(() -> NpzWeights.read(file, TINY))
        .isInstanceOf(WeightsFormatException.class)
        .hasMessageContaining("more than the 4 arrays of tiny can take");
  }

  @Test
  void refusesForeignEntryNames() throws IOException {
    Path file = dir.resolve("foreign.npz");
    try (OutputStream out = Files.newOutputStream(file);
        ZipOutputStream zip = new ZipOutputStream(out)) {
      for (String name : List.of("a.npy", "b.npy", "c.npy", "d.npy")) {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(resource("scalar.npy"));
        zip.closeEntry();
      }
    }
    assertThatThrownBy(() -> NpzWeights.read(file, TINY))
        .isInstanceOf(WeightsFormatException.class)
        .hasMessageContaining("entry 0 is 'a.npy', expected 'arr_0.npy' or 'dense_1/kernel.npy'");
  }

  @Test
  void refusesAnEntryThatInflatesPastItsShapeEvenWhenItsSizeLies() throws IOException {
    byte[] zeros = new byte[64 << 20];
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
      zip.putNextEntry(new ZipEntry("arr_0.npy"));
      zip.write(zeros);
      zip.closeEntry();
      for (int i = 1; i < 4; i++) {
        zip.putNextEntry(new ZipEntry("arr_" + i + ".npy"));
        zip.write(resource("scalar.npy"));
        zip.closeEntry();
      }
    }
    byte[] zip = bytes.toByteArray();
    Path honest = dir.resolve("honest.npz");
    Files.write(honest, zip);
    assertThatThrownBy(() -> NpzWeights.read(honest, TINY))
        .isInstanceOf(WeightsFormatException.class)
        .hasMessageContaining("arr_0.npy holds 67108864 bytes");
    // The central directory's uncompressed size of the first entry now says 100 bytes.
    ByteBuffer buf = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i + 4 <= zip.length; i++) {
      if (buf.getInt(i) == 0x02014b50) {
        buf.putInt(i + 24, 100);
        break;
      }
    }
    Path lying = dir.resolve("lying.npz");
    Files.write(lying, zip);
    assertThatThrownBy(() -> NpzWeights.read(lying, TINY))
        .isInstanceOf(WeightsFormatException.class)
        .hasMessageContaining("arr_0.npy");
  }

  @Test
  void refusesMalformedNpyNamingTheArray() throws IOException {
    int[] shape = {16, 3};
    assertThatThrownBy(() -> Npy.decode(resource("fortran.npy"), shape, "w"))
        .hasMessage("w: Fortran order, expected C order");
    assertThatThrownBy(() -> Npy.decode(resource("float64.npy"), shape, "w"))
        .hasMessageContaining("w: dtype float64");
    byte[] kernel = resource("kernel.npy");
    assertThatThrownBy(
            () -> Npy.decode(java.util.Arrays.copyOf(kernel, kernel.length - 1), shape, "w"))
        .hasMessage("w: 191 bytes of data, shape needs 192 (48 float32)");
    assertThatThrownBy(() -> Npy.decode(kernel, new int[] {3, 16}, "w"))
        .hasMessage("w: shape [16, 3], expected [3, 16]");
    assertThatThrownBy(() -> Npy.decode(new byte[] {1, 2, 3}, shape, "w"))
        .hasMessageContaining("not a .npy array");
    byte[] v2 = kernel.clone();
    v2[6] = 2; // version 2.0 reads a 4-byte header length: here a huge one
    assertThatThrownBy(() -> Npy.decode(v2, shape, "w")).hasMessageContaining("header of");
    byte[] v9 = kernel.clone();
    v9[6] = 9;
    assertThatThrownBy(() -> Npy.decode(v9, shape, "w")).hasMessageContaining("version 9");
    byte[] garbled = kernel.clone();
    garbled[20] = '[';
    assertThatThrownBy(() -> Npy.decode(garbled, shape, "w"))
        .hasMessageContaining("w: malformed .npy header at character");
  }

  @Test
  void refusesAFileThatIsNoZip() throws IOException {
    Path file = dir.resolve("text.npz");
    Files.writeString(file, "not a zip");
    assertThatThrownBy(() -> NpzWeights.read(file, TINY))
        .isInstanceOf(WeightsFormatException.class)
        .hasMessageContaining("not a readable .npz");
  }
}
