// A thin layer over uPlot: time-series charts fed with Prometheus range results, grouped per
// page so that crosshair and zoom stay in sync, and sparklines drawn on a bare <canvas>.
//
// Colours come from CSS variables (--fg-muted, --grid, --series-0 ... --series-9 in app.css), so
// charts follow the light or dark theme; a change of the system setting redraws them.

import uPlot from "uplot";
import { el } from "./dom.js";
import { formatAxis, formatDateTime, formatValue, parseSample } from "./format.js";

const PALETTE_SIZE = 10;

/** The value of a CSS custom property on the document root. */
export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** The colour of the `i`-th series. */
export function seriesColor(i) {
  return cssVar(`--series-${i % PALETTE_SIZE}`) || "#3b82f6";
}

/**
 * A series' labels as text, Prometheus style: `name{a="1", b="2"}` (an empty set reads `{}`).
 * @param {Record<string, string>} metric
 */
export function seriesName(metric) {
  const { __name__: name = "", ...rest } = metric || {};
  const pairs = Object.keys(rest)
    .sort()
    .map((k) => `${k}=${JSON.stringify(rest[k])}`);
  return pairs.length || !name ? `${name}{${pairs.join(", ")}}` : name;
}

/**
 * Put the series of range results on one time axis for uPlot: `[xs, ys0, ys1, ...]`, where
 * xs runs from `start` to `end` by `step` and a missing point is null (a gap).
 * @param {{metric: Record<string,string>, values: [number, string][]}[]} series
 */
export function alignRange(series, { start, end, step }) {
  const n = Math.max(0, Math.floor((end - start) / step + 1e-9) + 1);
  const xs = new Array(n);
  for (let i = 0; i < n; i++) xs[i] = start + i * step;
  const columns = series.map((s) => {
    const ys = new Array(n).fill(null);
    for (const [t, v] of s.values || []) {
      const i = Math.round((t - start) / step);
      if (i >= 0 && i < n) ys[i] = parseSample(v);
    }
    return ys;
  });
  return [xs, ...columns];
}

/** The last non-null value of a column, or null. */
function lastValue(ys) {
  for (let i = (ys?.length ?? 0) - 1; i >= 0; i--) if (ys[i] !== null && ys[i] !== undefined) return ys[i];
  return null;
}

/**
 * The width of a y axis: its longest tick label plus tick and gap (uPlot's size callback,
 * called several times per draw while uPlot settles the axes' sizes). `textWidth` measures
 * a label in the axis's font.
 */
function axisSize(u, values, axisIdx, textWidth) {
  const axis = u.axes[axisIdx];
  let size = axis.ticks.size + axis.gap;
  const longest = (values ?? []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), "");
  if (longest) size += textWidth(axis.font[0], longest) / (window.devicePixelRatio || 1);
  return Math.ceil(size) + 4;
}

/**
 * The charts of one page: one uPlot sync key for the crosshair, one zoom shared by all
 * (drag in one chart sets the x range of every chart; double-click resets it), a redraw
 * when the system switches between light and dark.
 */
export class ChartGroup {
  constructor() {
    this.key = `mmx-${Math.random().toString(36).slice(2)}`;
    this.charts = new Set();
    /** @type {{min: number, max: number} | null} */
    this.zoom = null;
    /** The theme's colours, read once per theme (see `theme()`). */
    this.colors = null;
    /** Widths of axis labels already measured, by font and text (see `textWidth`). */
    this.widths = new Map();
    this.measure = null;
    this.media = window.matchMedia("(prefers-color-scheme: dark)");
    this.onScheme = () => {
      this.colors = null;
      this.widths.clear();
      this.charts.forEach((c) => c.rebuild());
    };
    this.media.addEventListener("change", this.onScheme);
  }

  /**
   * The current theme's axis, grid and series colours and the axis font, from the CSS
   * variables. Read once for all the charts: each read of computed style after a chart was
   * added to the page would recompute the page's style.
   */
  theme() {
    if (!this.colors) {
      const style = getComputedStyle(document.documentElement);
      const css = (name) => style.getPropertyValue(name).trim();
      this.colors = {
        axis: css("--fg-muted") || "#666",
        grid: css("--grid") || "rgba(128,128,128,.2)",
        font: `11px ${css("--font") || "system-ui, sans-serif"}`,
        series: Array.from({ length: PALETTE_SIZE }, (_, i) => css(`--series-${i}`) || "#3b82f6"),
      };
    }
    return this.colors;
  }

  /**
   * The width of `text` in `font` (canvas pixels), measured once on a canvas of the group's:
   * setting a canvas's font is costly, and the charts of a page share most tick labels.
   */
  textWidth(font, text) {
    const key = `${font}\n${text}`;
    let width = this.widths.get(key);
    if (width === undefined) {
      this.measure ??= document.createElement("canvas").getContext("2d");
      if (this.measure.font !== font) this.measure.font = font;
      width = this.measure.measureText(text).width;
      if (this.widths.size >= 4096) this.widths.clear(); // bounded: labels change with the data
      this.widths.set(key, width);
    }
    return width;
  }

  /** Zoom every chart to [min, max] (Unix s); null resets to each chart's window. */
  setZoom(range) {
    this.zoom = range;
    this.charts.forEach((c) => c.applyX());
  }

  /** Destroy every chart and stop listening. */
  destroy() {
    this.media.removeEventListener("change", this.onScheme);
    this.charts.forEach((c) => c.destroy());
    this.charts.clear();
  }
}

/**
 * One time-series chart in `container` (a titled box with the plot and its legend).
 * `unit`: the catalog unit its axis and legend are humanised for; `yMax`: a fixed top
 * (100 for percentages); `onDraw`: called after each draw that showed data.
 */
export class TimeChart {
  constructor(container, { group, title, unit = "", yMax = null, height = 200, onDraw = null }) {
    this.group = group;
    this.unit = unit;
    this.yMax = yMax;
    this.height = height;
    this.onDraw = onDraw;
    this.plot = null;
    this.data = null;
    this.labels = [];
    this.window = null;
    this.updates = 0;
    this.body = el("div", { class: "chart-body" });
    this.message = el("div", { class: "chart-message" }, "Loading…");
    this.root = el(
      "section",
      { class: "chart", "data-chart": title, "data-updated": "0" },
      el("h3", { class: "chart-title" }, title),
      this.message,
      this.body,
    );
    container.append(this.root);
    // The plot's width is the body's, as the observer last reported it (reading it from the
    // element would lay the page out again for every chart drawn). Resize in the next frame,
    // outside the observer's callback, so that a size change cannot feed back into the same
    // layout pass (Chrome reports such loops as errors).
    this.width = 0;
    this.resizeFrame = 0;
    this.resize = new ResizeObserver((entries) => {
      this.width = Math.floor(entries[entries.length - 1].contentRect.width);
      cancelAnimationFrame(this.resizeFrame);
      this.resizeFrame = requestAnimationFrame(() => {
        const width = this.width;
        if (this.plot && width > 0 && width !== this.plot.width) this.plot.setSize({ width, height: this.height });
      });
    });
    this.resize.observe(this.body);
    group.charts.add(this);
  }

  /**
   * Show range results: `series` as `/api/v1/query_range` answers them, each with the label
   * shown for it (`label`), over `window` = {start, end, step}.
   * @param {{metric: Record<string,string>, values: [number,string][], label?: string}[]} series
   */
  setSeries(series, window) {
    const labels = series.map((s) => s.label ?? seriesName(s.metric));
    this.window = window;
    this.data = alignRange(series, window);
    this.updates += 1;
    this.root.dataset.updated = String(this.updates);
    this.root.dataset.series = String(series.length);
    if (!series.length) {
      this.showMessage("No data in this range.");
    } else {
      this.showMessage(null);
    }
    const same = labels.length === this.labels.length && labels.every((l, i) => l === this.labels[i]);
    this.labels = labels;
    if (this.plot && same) {
      this.plot.setData(this.data, true);
      this.applyX();
    } else {
      this.rebuild();
    }
  }

  /** Show an error (or any message) in place of the plot; null clears it. */
  showMessage(text, isError = false) {
    this.message.hidden = text === null;
    this.message.className = isError ? "chart-message error" : "chart-message";
    if (text !== null) this.message.textContent = text;
  }

  /** Set the x range to the group's zoom, or this chart's window. */
  applyX() {
    if (!this.window) return;
    const range = this.group.zoom ?? { min: this.window.start, max: this.window.end };
    this.root.dataset.xRange = `${Math.round(range.min)},${Math.round(range.max)}`;
    if (this.plot) this.plot.setScale("x", range);
  }

  /** Create (or re-create, e.g. for new series or colours) the uPlot instance. */
  rebuild() {
    if (this.plot) this.plot.destroy();
    this.plot = null;
    if (!this.data || this.labels.length === 0) return;
    this.plot = new uPlot(this.options(), this.data, this.body);
    this.applyX();
  }

  options() {
    const group = this.group;
    const unit = this.unit;
    const { axis: axisColor, grid: gridColor, font, series: palette } = group.theme();
    const yMax = this.yMax;
    return {
      // Before the observer's first report (data faster than the first layout): ask the page.
      width: Math.max(this.width || this.body.clientWidth, 200),
      height: this.height,
      legend: { show: true, live: true },
      cursor: {
        sync: {
          key: group.key,
          setSeries: false,
          // Zoom and its reset go through the group (below), not uPlot's mouse replay.
          filters: { pub: (type) => type !== "mousedown" && type !== "mouseup" && type !== "dblclick" },
        },
        drag: { x: true, y: false, setScale: false },
        bind: {
          dblclick: () => () => {
            group.setZoom(null);
            return null;
          },
        },
      },
      scales: {
        x: { time: true },
        y: {
          range: (u, min, max) => {
            const lo = Math.min(0, min ?? 0);
            let hi = Math.max(max ?? 0, lo);
            if (yMax !== null) hi = Math.max(yMax, hi);
            else hi = hi <= lo ? lo + 1 : hi + (hi - lo) * 0.08;
            return [lo, hi];
          },
        },
      },
      series: [
        // Away from the cursor, the legend shows each series' latest value.
        { value: (u, v, sidx, idx) => (idx === null ? "latest" : formatDateTime(v)) },
        ...this.labels.map((label, i) => ({
          label,
          stroke: palette[i % PALETTE_SIZE],
          width: 1.5,
          points: { show: false },
          value: (u, v, sidx, idx) => formatValue(idx === null ? lastValue(u.data[sidx]) : v, unit),
        })),
      ],
      axes: [
        {
          stroke: axisColor,
          font,
          space: 70,
          grid: { stroke: gridColor, width: 1 },
          ticks: { stroke: gridColor, width: 1 },
        },
        {
          stroke: axisColor,
          font,
          size: (u, values, axisIdx) => axisSize(u, values, axisIdx, (f, t) => group.textWidth(f, t)),
          grid: { stroke: gridColor, width: 1 },
          ticks: { stroke: gridColor, width: 1 },
          values: (u, splits) => splits.map((v) => formatAxis(v, unit)),
        },
      ],
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 2) return;
            const min = u.posToVal(u.select.left, "x");
            const max = u.posToVal(u.select.left + u.select.width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            group.setZoom({ min, max });
          },
        ],
        draw: [
          () => {
            if (this.onDraw && this.labels.length) this.onDraw(this);
          },
        ],
      },
    };
  }

  /** Remove the chart and its observers. */
  destroy() {
    cancelAnimationFrame(this.resizeFrame);
    this.resize.disconnect();
    if (this.plot) this.plot.destroy();
    this.plot = null;
    this.group.charts.delete(this);
    this.root.remove();
  }
}

/**
 * Draw a sparkline of `values` (numbers or null) on `canvas`: a line with a light fill, no
 * axes. `width` and `height`: its CSS size (default: read from the page, which lays the page
 * out again if it changed since the last read: pass them when drawing many). `max`: the top
 * of the scale (100 for percentages; default: the values' maximum). Cheap enough to draw
 * thousands: one path, no library.
 */
export function drawSparkline(canvas, values, { color, max = null, width = 0, height = 0 } = {}) {
  const ratio = window.devicePixelRatio || 1;
  width = width || canvas.clientWidth || 80;
  height = height || canvas.clientHeight || 20;
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  if (!values || values.length < 2) return;
  let top = max ?? 0;
  if (max === null) for (const v of values) if (v !== null && v > top) top = v;
  if (!(top > 0)) top = 1;
  const dx = width / (values.length - 1);
  const y = (v) => height - 1 - (Math.min(v, top) / top) * (height - 2);
  const stroke = color || seriesColor(0);
  ctx.lineWidth = 1.25;
  ctx.strokeStyle = stroke;
  ctx.fillStyle = stroke;
  let open = false;
  ctx.beginPath();
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      open = false;
      return;
    }
    if (open) ctx.lineTo(i * dx, y(v));
    else ctx.moveTo(i * dx, y(v));
    open = true;
  });
  ctx.stroke();
  ctx.globalAlpha = 0.15;
  ctx.fillRect(0, height - 1, width, 1);
  ctx.globalAlpha = 1;
}

/**
 * Set a performance mark once per page load: "mmx:first-chart" when a page's first chart has
 * drawn its data, "mmx:rendered" when all of them have (the bench reads these).
 */
export function markOnce(name) {
  if (performance.getEntriesByName(name, "mark").length === 0) performance.mark(name);
}
