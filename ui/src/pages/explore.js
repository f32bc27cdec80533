// Ad-hoc PromQL: a query box (Enter runs it, Shift+Enter starts a new line), a graph of the
// range query over the selected range and a table of the instant query. The server's error
// text shows under the box as it came.

import { get } from "../api.js";
import { ChartGroup, TimeChart, markOnce, seriesName } from "../charts.js";
import { el, replace } from "../dom.js";
import { formatDateTime, formatNumber, parseSample } from "../format.js";
import { rangeQuery } from "../timerange.js";

/** At most this many series are drawn, and this many rows listed: more would stall the page. */
export const MAX_GRAPH_SERIES = 200;
export const MAX_TABLE_ROWS = 2000;

/** Mount the explore page; `params.q` is a query to run at once (contract: pages/README.md). */
export async function mount(container, params, ctx) {
  const page = new Explore(container, params, ctx);
  if (page.query) await page.run();
  else {
    markOnce("mmx:first-chart");
    markOnce("mmx:rendered");
  }
  return page;
}

class Explore {
  constructor(container, params, ctx) {
    this.ctx = ctx;
    this.query = params.q || "";
    this.tab = params.tab === "table" ? "table" : "graph";
    this.alive = true;
    this.runs = 0; // the latest run's number: an older run's answer is dropped
    this.group = new ChartGroup();
    this.chart = null;
    this.input = el("textarea", {
      class: "promql",
      rows: 2,
      spellcheck: false,
      placeholder: "PromQL, e.g. rate(node_cpu_seconds_total[5m])",
      "aria-label": "PromQL query",
      value: this.query,
      onkeydown: (e) => {
        if (e.key === "Enter" && !e.shiftKey) {
          e.preventDefault();
          this.submit();
        }
      },
    });
    this.error = el("pre", { class: "error query-error", role: "alert", hidden: true });
    this.tabs = ["graph", "table"].map((t) =>
      el("button", { type: "button", role: "tab", class: "tab", "data-tab": t, onclick: () => this.setTab(t) }, t === "graph" ? "Graph" : "Table"),
    );
    this.status = el("span", { class: "muted" });
    this.output = el("div", { class: "explore-output" });
    this.root = el(
      "div",
      { class: "explore", "data-updated": "0" },
      el("h1", {}, "Explore"),
      el("div", { class: "query-row" }, this.input, el("button", { type: "button", class: "primary", onclick: () => this.submit() }, "Run")),
      this.error,
      el("div", { class: "tabs", role: "tablist" }, this.tabs, this.status),
      this.output,
    );
    replace(container, this.root);
    this.markTabs();
    this.updates = 0;
  }

  submit() {
    this.query = this.input.value.trim();
    this.writeUrl();
    this.run();
  }

  setTab(tab) {
    this.tab = tab;
    this.markTabs();
    this.writeUrl();
    this.run();
  }

  markTabs() {
    this.tabs.forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === this.tab)));
  }

  /** Keep the query and tab in the URL, so that reload and back show the same. */
  writeUrl() {
    const query = new URLSearchParams(window.location.search);
    if (this.query) query.set("q", this.query);
    else query.delete("q");
    if (this.tab === "table") query.set("tab", "table");
    else query.delete("tab");
    const search = query.toString();
    window.history.replaceState(null, "", window.location.pathname + (search ? `?${search}` : ""));
  }

  async refresh() {
    if (this.query) await this.run();
  }

  async run() {
    if (!this.query) {
      replace(this.output);
      this.error.hidden = true;
      return;
    }
    const started = performance.now();
    const run = ++this.runs;
    const current = () => this.alive && run === this.runs;
    try {
      if (this.tab === "graph") await this.runGraph(current);
      else await this.runTable(current);
      if (!current()) return;
      this.error.hidden = true;
    } catch (err) {
      if (!current()) return;
      this.error.hidden = false;
      this.error.textContent = err.message;
      this.status.textContent = "";
      this.dropChart();
      replace(this.output);
    }
    this.updates += 1;
    this.root.dataset.updated = String(this.updates);
    if (this.status.textContent) this.status.textContent += ` in ${formatNumber(performance.now() - started)} ms`;
    markOnce("mmx:first-chart");
    markOnce("mmx:rendered");
  }

  /** Graph the range query; `current()` says whether this run is still the latest. */
  async runGraph(current) {
    const q = rangeQuery(this.ctx.window());
    const data = await get("/api/v1/query_range", { query: this.query, start: q.start, end: q.end, step: q.step });
    if (!current()) return;
    if (data.resultType !== "matrix") throw new Error(`a graph needs a range vector result, got ${data.resultType}`);
    if (!this.chart) {
      replace(this.output);
      this.chart = new TimeChart(this.output, { group: this.group, title: "Result", height: 320 });
    }
    const shown = data.result.slice(0, MAX_GRAPH_SERIES);
    this.chart.setSeries(shown, q);
    this.status.textContent =
      shown.length < data.result.length
        ? `the first ${shown.length} of ${data.result.length} series (narrow the query to see the rest), step ${q.step}s`
        : `${data.result.length} series, step ${q.step}s`;
  }

  /** List the instant query's result; `current()` as for `runGraph`. */
  async runTable(current) {
    const data = await get("/api/v1/query", { query: this.query });
    if (!current()) return;
    this.dropChart();
    const rows = [];
    if (data.resultType === "vector") {
      for (const s of data.result) rows.push([seriesName(s.metric), s.value[1], s.value[0]]);
    } else if (data.resultType === "matrix") {
      for (const s of data.result) rows.push([seriesName(s.metric), s.values.map((v) => `${v[1]} @${v[0]}`).join("\n"), null]);
    } else {
      rows.push([data.resultType, data.result[1], data.result[0]]);
    }
    const total = rows.length;
    rows.length = Math.min(total, MAX_TABLE_ROWS);
    this.status.textContent =
      rows.length < total ? `the first ${rows.length} of ${total} results` : `${total} result${total === 1 ? "" : "s"}`;
    replace(
      this.output,
      rows.length === 0
        ? el("p", { class: "muted" }, "Empty result.")
        : el(
            "table",
            { class: "result-table" },
            el("thead", {}, el("tr", {}, el("th", {}, "Series"), el("th", {}, "Value"), el("th", {}, "Time"))),
            el(
              "tbody",
              {},
              rows.map(([series, value, time]) =>
                el(
                  "tr",
                  {},
                  el("td", { class: "series-labels" }, series),
                  el("td", { class: "num", title: String(value) }, displayValue(value)),
                  el("td", { class: "muted" }, time === null ? "" : formatDateTime(time)),
                ),
              ),
            ),
          ),
    );
  }

  dropChart() {
    if (this.chart) this.chart.destroy();
    this.chart = null;
  }

  unmount() {
    this.alive = false;
    this.group.destroy();
    this.root.remove();
  }
}

function displayValue(text) {
  const v = parseSample(text);
  return v === null || String(text).includes("\n") ? String(text) : formatNumber(v, 6);
}
