'use strict';
// Line charts in SVG: one per metric, a polyline and a marker per point. Every marker carries its
// x and y in data-x / data-value, so that a test (or a person with the inspector) reads the data.
const Charts = (() => {
  const NS = 'http://www.w3.org/2000/svg';
  const W = 440;
  const H = 250;
  const M = {left: 58, right: 14, top: 30, bottom: 38};

  function svg(tag, attributes = {}, text) {
    const node = document.createElementNS(NS, tag);
    for (const [name, value] of Object.entries(attributes)) {
      node.setAttribute(name, value);
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function ticks(lo, hi, count) {
    const span = hi - lo || 1;
    const raw = span / count;
    const magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push(+v.toPrecision(12));
    }
    return out;
  }

  // Tick labels with as many decimals as the step between ticks needs, so that no two read alike
  // however close the values are (a loss of 0.1133 then 0.1131, say).
  function tickLabel(unit, step) {
    const scale = unit === 'percent' ? 100 : 1;
    const decimals = Math.min(8, Math.max(0, Math.ceil(-Math.log10(step * scale) - 1e-9)));
    return (v) => (v * scale).toFixed(decimals) + (unit === 'percent' ? '%' : '');
  }

  // series: [{name, cls, points: [[x, y], ...]}]; options: {title, id, xLabel, format, unit}
  // (format: a value in a marker's tooltip; unit: 'percent' or 'number', the axis's ticks)
  function line(series, options) {
    const figure = document.createElement('figure');
    figure.className = 'chart';
    figure.id = options.id;
    const root = svg('svg', {viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': options.title});
    root.append(svg('text', {x: W / 2, y: 18, 'text-anchor': 'middle', class: 'title'}, options.title));
    const points = series.flatMap((s) => s.points);
    if (points.length === 0) {
      root.append(svg('text', {x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty'}, 'no data yet'));
      figure.append(root);
      return figure;
    }
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    const x0 = Math.min(...xs, 1);
    const x1 = Math.max(...xs, x0 + 1);
    let y0 = Math.min(...ys);
    let y1 = Math.max(...ys);
    const pad = (y1 - y0) * 0.08 || Math.abs(y1) * 0.01 || 0.01;
    y0 -= pad;
    y1 += pad;
    const px = (x) => M.left + (x - x0) / (x1 - x0) * (W - M.left - M.right);
    const py = (y) => H - M.bottom - (y - y0) / (y1 - y0) * (H - M.top - M.bottom);
    const format = options.format || ((v) => String(v));
    const yTicks = ticks(y0, y1, 5);
    const label = tickLabel(options.unit, yTicks.length > 1 ? yTicks[1] - yTicks[0] : y1 - y0);
    for (const t of yTicks) {
      root.append(svg('line', {x1: M.left, x2: W - M.right, y1: py(t), y2: py(t), class: 'grid'}));
      root.append(svg('text', {x: M.left - 6, y: py(t) + 4, 'text-anchor': 'end', class: 'tick'}, label(t)));
    }
    for (const t of ticks(x0, x1, Math.min(8, x1 - x0)).filter(Number.isInteger)) {
      root.append(svg('text', {x: px(t), y: H - M.bottom + 16, 'text-anchor': 'middle', class: 'tick'}, String(t)));
    }
    root.append(svg('text', {x: (M.left + W - M.right) / 2, y: H - 4, 'text-anchor': 'middle', class: 'axis'}, options.xLabel));
    root.append(svg('line', {x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom, class: 'axis-line'}));
    root.append(svg('line', {x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom, class: 'axis-line'}));
    series.forEach((s, k) => {
      const group = svg('g', {class: 'series ' + (s.cls || 's' + k), 'data-series': s.name});
      group.append(svg('polyline', {points: s.points.map((p) => px(p[0]) + ',' + py(p[1])).join(' ')}));
      for (const [x, y] of s.points) {
        const dot = svg('circle', {cx: px(x), cy: py(y), r: 3.2, 'data-x': x, 'data-value': y});
        dot.append(svg('title', {}, `${options.xLabel} ${x}: ${format(y)}`));
        group.append(dot);
      }
      root.append(group);
      if (series.length > 1) {
        root.append(svg('text', {x: W - M.right - 4, y: M.top + 12 + 14 * k, 'text-anchor': 'end', class: 'legend ' + (s.cls || 's' + k)}, s.name));
      }
    });
    figure.append(root);
    return figure;
  }

  return {line};
})();
