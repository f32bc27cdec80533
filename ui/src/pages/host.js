// One host over the selected range: a header of current values (/api/v1/metrics/current),
// then charts of CPU, load, memory and swap, file systems, disk IO, network and TCP
// connections from /api/v1/query_range (the requests and the charts: host/queries.js).

import { get, getShared } from "../api.js";
import { ChartGroup, TimeChart, markOnce } from "../charts.js";
import { el, replace } from "../dom.js";
import { formatBytesRate, formatCount, formatNumber, formatPercent, formatValue, isValue } from "../format.js";
import { quoteLabel, rangeQuery } from "../timerange.js";
import { CHARTS, QUERIES } from "./host/queries.js";

/** Mount the host page for `params.instance` (contract: pages/README.md). */
export async function mount(container, params, ctx) {
  const page = new HostPage(container, params.instance, ctx);
  page.refresh(); // charts fill in as their queries answer; errors show in place
  return page;
}

class HostPage {
  constructor(container, instance, ctx) {
    this.instance = instance;
    this.ctx = ctx;
    this.alive = true;
    this.loaded = false;
    this.known = false;
    this.windowKey = "";
    this.group = new ChartGroup();
    this.error = el("div", { class: "error", role: "alert", hidden: true });
    this.current = el("div", { class: "current" });
    this.grid = el("div", { class: "chart-grid" });
    this.root = el(
      "div",
      { class: "host", "data-updated": "0" },
      el("h1", {}, instance),
      this.error,
      this.current,
      el("p", { class: "muted hint" }, "Drag across a chart to zoom all charts; double-click to reset."),
      this.grid,
    );
    replace(container, this.root);
    const onDraw = () => markOnce("mmx:first-chart");
    this.charts = CHARTS.map((spec) => ({
      spec,
      chart: new TimeChart(this.grid, { group: this.group, title: spec.title, unit: spec.unit, yMax: spec.yMax ?? null, onDraw }),
    }));
    this.updates = 0;
  }

  async refresh() {
    const q = rangeQuery(this.ctx.window());
    const key = `${this.ctx.range}:${this.ctx.from}:${this.ctx.to}`;
    if (key !== this.windowKey) {
      this.windowKey = key;
      this.group.setZoom(null);
    }
    const h = `instance=${quoteLabel(this.instance)}`;
    const loads = Object.entries(QUERIES).map(([name, expr]) => this.loadQuery(name, expr(h, q.rate), q));
    await Promise.all([this.loadCurrent(), ...loads]);
    if (!this.alive) return;
    this.updates += 1;
    this.root.dataset.updated = String(this.updates);
    if (!this.loaded) {
      this.loaded = true;
      requestAnimationFrame(() => markOnce("mmx:rendered"));
    }
  }

  /** Run the request `name` and show its answer in every chart that reads it. */
  async loadQuery(name, query, q) {
    const charts = this.charts.filter(({ spec }) => spec.query === name);
    try {
      const data = await get("/api/v1/query_range", { query, start: q.start, end: q.end, step: q.step });
      if (!this.alive) return;
      for (const { spec, chart } of charts) chart.setSeries(spec.series(data.result || []), q);
    } catch (err) {
      if (this.alive) for (const { chart } of charts) chart.showMessage(`Error: ${err.message}`, true);
    }
  }

  /** Whether the server knows the host (asked until it does, so an unknown one is no 404). */
  async hostKnown() {
    if (!this.known) {
      const servers = await getShared("/api/v1/servers?metrics=false");
      this.known = servers.some((s) => s.instance === this.instance);
    }
    return this.known;
  }

  async loadCurrent() {
    let data;
    try {
      if (!(await this.hostKnown())) {
        if (!this.alive) return;
        this.error.hidden = false;
        this.error.textContent = `No host named ${this.instance} has reported.`;
        return;
      }
      data = await get("/api/v1/metrics/current", { host: this.instance });
    } catch (err) {
      if (!this.alive) return;
      this.error.hidden = false;
      this.error.textContent = `Could not load current values: ${err.message}`;
      return;
    }
    if (!this.alive) return;
    this.error.hidden = true;
    const m = data.metrics || {};
    const value = (name) => m[name]?.value ?? null;
    const maxOf = (name) => {
      const values = (m[name]?.values || []).map((v) => v.value).filter(isValue);
      return values.length ? Math.max(...values) : null;
    };
    const loads = ["1m", "5m", "15m"].map((n) => formatNumber(value(`cpu.load.average.${n}`))).join(" / ");
    const card = (label, text, title, wide = false) => el("div", { class: wide ? "stat stat-wide" : "stat", title }, el("span", { class: "stat-value" }, text), el("span", { class: "stat-label" }, label));
    replace(
      this.current,
      card("CPU", formatPercent(value("cpu.usage.total"))),
      card("Memory", formatPercent(value("memory.usage.percent")), `${formatValue(value("memory.used"), "bytes")} used of ${formatValue(value("memory.total"), "bytes")}`),
      card("Swap", formatPercent(value("swap.usage.percent"))),
      card("Load 1/5/15", loads, undefined, true),
      card("Fullest disk", formatPercent(maxOf("disk.usage.percent"))),
      card("Net in", formatBytesRate(value("network.io.bytes.recv"))),
      card("Net out", formatBytesRate(value("network.io.bytes.sent"))),
      card("TCP conns", formatCount(value("network.connections.tcp"))),
    );
  }

  unmount() {
    this.alive = false;
    this.group.destroy();
    this.root.remove();
  }
}
