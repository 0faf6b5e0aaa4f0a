package io.mnistfl.samples;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** PNG line charts of per-epoch or per-round series, drawn with XChart (works headless). */
final class Charts {
  private Charts() {}

  /** One chart: x values and named y series of equal length. */
  static void line(
      Path png,
      String title,
      String xLabel,
      String yLabel,
      double[] x,
      Map<String, double[]> series)
      throws IOException {
    XYChart chart =
        new XYChartBuilder()
            .width(800)
            .height(500)
            .title(title)
            .xAxisTitle(xLabel)
            .yAxisTitle(yLabel)
            .build();
    chart.getStyler().setMarkerSize(4);
    for (Map.Entry<String, double[]> s : series.entrySet()) {
      chart.addSeries(s.getKey(), x, s.getValue()).setMarker(SeriesMarkers.CIRCLE);
    }
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
  }

  /** Ordered series by name. */
  static Map<String, double[]> series(List<String> names, List<double[]> values) {
    Map<String, double[]> map = new LinkedHashMap<>();
    for (int i = 0; i < names.size(); i++) {
      map.put(names.get(i), values.get(i));
    }
    return map;
  }
}
