// The fleet at a glance: totals, then one row per host (status, current CPU, memory, disk
// and network with sparklines, firing alerts), sortable, filterable and searchable. Rows are
// virtualised: a fixed-height scroll box holds only the visible rows plus a margin, so a
// fleet of thousands scrolls as smoothly as ten hosts.

import { get } from "../api.js";
import { drawSparkline, markOnce, seriesColor } from "../charts.js";
import { el, replace } from "../dom.js";
import { formatBytesRate, formatNumber, formatPercent, isValue } from "../format.js";

const ROW_HEIGHT = 40;
const MARGIN_ROWS = 8;
/** A sparkline's CSS size (app.css `.spark`), given to the canvas and to every draw. */
const SPARK_SIZE = { width: 72, height: 20 };
const OVERVIEW_RANGES = ["1h", "6h", "24h"];
const STATUS_ORDER = { down: 0, alerting: 1, up: 2 };

/** The columns: header text, sort key, how to read the sort value from a host. */
const COLUMNS = [
  { key: "instance", title: "Host", value: (h) => h.instance },
  { key: "status", title: "Status", value: (h) => STATUS_ORDER[h.state] ?? 3 },
  { key: "cpu", title: "CPU", value: (h) => h.current?.cpu },
  { key: "memory", title: "Memory", value: (h) => h.current?.memory },
  { key: "disk", title: "Disk", value: (h) => h.current?.disk },
  { key: "net", title: "Network", value: (h) => netOf(h) },
  { key: "alerts", title: "Alerts", value: (h) => h.alerts?.firing ?? 0 },
];

function netOf(host) {
  const rx = host.current?.net_rx;
  const tx = host.current?.net_tx;
  if (!isValue(rx) && !isValue(tx)) return null;
  return (isValue(rx) ? rx : 0) + (isValue(tx) ? tx : 0);
}

/** A host's displayed state: down, alerting (up with firing alerts) or up. */
function stateOf(host) {
  if (host.status !== "up") return "down";
  return (host.alerts?.firing ?? 0) > 0 ? "alerting" : "up";
}

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });

function compare(a, b, column, direction) {
  const va = column.value(a);
  const vb = column.value(b);
  const missingA = va === null || va === undefined;
  const missingB = vb === null || vb === undefined;
  if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;
  const order = typeof va === "string" ? collator.compare(va, vb) : va - vb;
  return order * direction || collator.compare(a.instance, b.instance);
}

/** Mount the overview (contract: pages/README.md). */
export async function mount(container, params, ctx) {
  const page = new Overview(container, params, ctx);
  await page.refresh();
  return page;
}

class Overview {
  constructor(container, params, ctx) {
    this.ctx = ctx;
    this.hosts = [];
    this.rows = [];
    this.sort = { key: "instance", direction: 1 };
    this.status = ["up", "down", "alerting"].includes(params.status) ? params.status : "all";
    this.search = params.q || "";
    this.rendered = new Map();
    this.pool = [];
    this.frame = 0;
    this.updates = 0;
    this.alive = true;

    this.error = el("div", { class: "error", role: "alert", hidden: true });
    this.totals = el("div", { class: "totals" });
    this.searchInput = el("input", {
      type: "search",
      placeholder: "Search hosts",
      "aria-label": "Search hosts",
      value: this.search,
      oninput: () => {
        this.search = this.searchInput.value;
        this.apply();
      },
    });
    this.statusSelect = el(
      "select",
      { "aria-label": "Status", onchange: () => this.setStatus(this.statusSelect.value) },
      ["all", "up", "down", "alerting"].map((s) => el("option", { value: s, selected: s === this.status }, s === "all" ? "All statuses" : s)),
    );
    this.count = el("span", { class: "muted count" });
    this.rangeNote = el("span", { class: "muted" });
    this.headCells = COLUMNS.map((c) =>
      el(
        "button",
        { type: "button", class: `cell col-${c.key}`, "data-sort": c.key, onclick: () => this.setSort(c.key) },
        c.title,
      ),
    );
    this.spacer = el("div", { class: "vt-spacer" });
    this.empty = el("div", { class: "muted vt-empty", hidden: true });
    this.scroller = el("div", { class: "vt-scroll", onscroll: () => this.schedule() }, this.spacer, this.empty);
    this.root = el(
      "div",
      { class: "overview", "data-updated": "0" },
      el("h1", {}, "Overview"),
      this.error,
      this.totals,
      el("div", { class: "filters" }, this.searchInput, this.statusSelect, this.count, this.rangeNote),
      el("div", { class: "vt-table", role: "table", "aria-label": "Hosts" }, el("div", { class: "vt-head row-grid", role: "row" }, this.headCells), this.scroller),
    );
    replace(container, this.root);
    this.table = this.root.querySelector(".vt-table");
    this.resize = new ResizeObserver(() => {
      // The header leaves room for the rows' scroll bar, so that columns line up.
      this.table.style.setProperty("--scrollbar", `${this.scroller.offsetWidth - this.scroller.clientWidth}px`);
      this.schedule();
    });
    this.resize.observe(this.scroller);
  }

  async refresh() {
    const range = OVERVIEW_RANGES.includes(this.ctx.range) ? this.ctx.range : this.ctx.range === "custom" ? "1h" : "24h";
    let data;
    try {
      data = await get("/api/v1/overview", { range });
    } catch (err) {
      if (!this.alive) return;
      this.error.hidden = false;
      this.error.textContent = `Could not load the overview: ${err.message}`;
      return;
    }
    if (!this.alive) return; // another page since
    this.error.hidden = true;
    this.hosts = (data.hosts || []).map((h) => ({ ...h, state: stateOf(h) }));
    this.rangeNote.textContent = `Sparklines: last ${data.range || range}`;
    this.renderTotals(data.totals || {});
    this.updates += 1;
    this.root.dataset.updated = String(this.updates);
    this.apply();
  }

  renderTotals(totals) {
    const card = (label, value, status, cls) =>
      el(
        "button",
        { type: "button", class: `total ${cls}`, "data-total": label.toLowerCase(), onclick: () => this.setStatus(status) },
        el("span", { class: "total-value" }, formatNumber(value ?? 0, 6)),
        el("span", { class: "total-label" }, label),
      );
    replace(
      this.totals,
      card("Hosts", totals.hosts, "all", ""),
      card("Up", totals.up, "up", "ok"),
      card("Down", totals.down, "down", "bad"),
      card("Alerting", totals.alerting, "alerting", "warn"),
    );
  }

  setStatus(status) {
    this.status = status;
    this.statusSelect.value = status;
    this.apply();
  }

  setSort(key) {
    this.sort = { key, direction: this.sort.key === key ? -this.sort.direction : key === "instance" || key === "status" ? 1 : -1 };
    this.apply();
  }

  /** Filter and sort the hosts into `rows`, then redraw the visible ones. */
  apply() {
    const needle = this.search.trim().toLowerCase();
    const column = COLUMNS.find((c) => c.key === this.sort.key);
    this.rows = this.hosts
      .filter((h) => this.status === "all" || h.state === this.status)
      .filter((h) => !needle || h.instance.toLowerCase().includes(needle))
      .sort((a, b) => compare(a, b, column, this.sort.direction));
    for (const cell of this.headCells) {
      const active = cell.dataset.sort === this.sort.key;
      cell.setAttribute("aria-sort", active ? (this.sort.direction > 0 ? "ascending" : "descending") : "none");
    }
    this.count.textContent = `${this.rows.length} of ${this.hosts.length} hosts`;
    this.empty.hidden = this.rows.length > 0;
    this.empty.textContent = this.hosts.length ? "No host matches." : "No hosts have reported yet.";
    this.spacer.style.height = `${this.rows.length * ROW_HEIGHT}px`;
    for (const row of this.rendered.values()) {
      row.remove();
      this.pool.push(row);
    }
    this.rendered.clear();
    this.renderRows();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.renderRows();
    });
  }

  /**
   * Keep exactly the rows in view (plus a margin) in the DOM. Rows that leave the view are
   * reused for those that enter it (filled in place, canvases kept), so a fast scroll costs
   * text updates and sparkline strokes, not new elements.
   */
  renderRows() {
    const top = this.scroller.scrollTop;
    const height = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - MARGIN_ROWS);
    const last = Math.min(this.rows.length, Math.ceil((top + height) / ROW_HEIGHT) + MARGIN_ROWS);
    const free = [];
    for (const [index, row] of this.rendered) {
      if (index < first || index >= last) {
        free.push(row);
        this.rendered.delete(index);
      }
    }
    const colors = { cpu: seriesColor(0), memory: seriesColor(1), net: seriesColor(2) };
    for (let i = first; i < last; i++) {
      if (this.rendered.has(i)) continue;
      const row = free.pop() || this.pool.pop() || makeRow();
      if (!row.isConnected) this.spacer.append(row);
      fillRow(row, this.rows[i], i, colors);
      this.rendered.set(i, row);
    }
    for (const row of free) {
      row.remove();
      this.pool.push(row);
    }
    if (this.updates > 0) {
      markOnce("mmx:first-chart");
      markOnce("mmx:rendered");
    }
  }

  unmount() {
    this.alive = false;
    cancelAnimationFrame(this.frame);
    this.resize.disconnect();
    this.root.remove();
  }
}

/** An empty host row; `fillRow` puts a host into it. */
function makeRow() {
  const spark = (kind) => el("canvas", { class: "spark", "data-spark": kind, ...SPARK_SIZE, "aria-hidden": "true" });
  const parts = {
    instance: el("span", { class: "cell col-instance" }),
    badge: el("span", { class: "badge" }),
    cpu: el("span", { class: "num" }),
    memory: el("span", { class: "num" }),
    disk: el("span", { class: "num" }),
    net: el("span", { class: "num" }),
    alerts: el("span", { class: "cell col-alerts" }),
    sparks: { cpu: spark("cpu"), memory: spark("memory"), net: spark("net") },
  };
  const row = el(
    "a",
    { class: "vt-row row-grid", role: "row" },
    parts.instance,
    el("span", { class: "cell col-status" }, parts.badge),
    el("span", { class: "cell col-cpu" }, parts.cpu, parts.sparks.cpu),
    el("span", { class: "cell col-memory" }, parts.memory, parts.sparks.memory),
    el("span", { class: "cell col-disk" }, parts.disk),
    el("span", { class: "cell col-net" }, parts.net, parts.sparks.net),
    parts.alerts,
  );
  row.parts = parts;
  return row;
}

/** Put `host` into `row` at position `index` (as text: every value is a text node). */
function fillRow(row, host, index, colors) {
  const { parts } = row;
  row.className = `vt-row row-grid state-${host.state}`;
  row.href = `/hosts/${encodeURIComponent(host.instance)}`;
  row.dataset.instance = host.instance;
  row.style.top = `${index * ROW_HEIGHT}px`;
  parts.instance.textContent = host.instance;
  parts.instance.title = host.instance;
  parts.badge.className = `badge ${host.state}`;
  parts.badge.textContent = host.state;
  for (const key of ["cpu", "memory", "disk"]) {
    const v = host.current?.[key];
    parts[key].className = `num ${level(v)}`;
    parts[key].textContent = formatPercent(v);
  }
  parts.net.textContent = formatBytesRate(netOf(host));
  const firing = host.alerts?.firing ?? 0;
  const pending = host.alerts?.pending ?? 0;
  parts.alerts.title = `${firing} firing, ${pending} pending`;
  replace(
    parts.alerts,
    firing
      ? el("span", { class: "badge alerting" }, String(firing))
      : el("span", { class: "muted" }, pending ? `${pending} pending` : "0"),
  );
  const spark = host.spark || {};
  for (const kind of ["cpu", "memory", "net"]) {
    drawSparkline(parts.sparks[kind], spark[kind], { ...SPARK_SIZE, color: colors[kind], max: kind === "net" ? null : 100 });
  }
}

/** A colour class for a percentage: warn from 80, bad from 95. */
function level(v) {
  if (!isValue(v)) return "";
  return v >= 95 ? "bad" : v >= 80 ? "warn" : "";
}

