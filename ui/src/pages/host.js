// One host over the selected range: a header of current values (/api/v1/metrics/current),
// then charts of CPU, load, memory and swap, file systems, disk IO, network and TCP
// connections from /api/v1/query_range. The expressions are the catalog's
// (src/multimonx/promql/catalog.yaml) with the host's matcher written in and, where a chart
// shows items, grouped by device, core or mount point instead of summed.

import { get } from "../api.js";
import { ChartGroup, TimeChart, markOnce } from "../charts.js";
import { el, replace } from "../dom.js";
import { formatBytesRate, formatCount, formatNumber, formatPercent, formatValue, isValue } from "../format.js";
import { quoteLabel, rangeQuery } from "../timerange.js";

// The catalog's filters: real file systems, physical disks, non-virtual network interfaces.
const FS = 'fstype!~"rootfs|tmpfs|ramfs|devtmpfs|overlay|squashfs|autofs|nsfs|fuse.lxcfs"';
const DISK = 'device=~"(/dev/)?(mmcblk.p.+|nvme.+|rbd.+|sd.+|vd.+|xvd.+|dm-.+|md.+|dasd.+)"';
const NET = 'device!~"lo|veth.*|docker.*|br-.*|virbr.*|cni.*|flannel.*|cali.*|ifb.*"';

const collator = new Intl.Collator(undefined, { numeric: true });

/**
 * The charts of a host page. Each query: `expr(h, r)` builds the PromQL text from the
 * host's matcher `h` (`instance="..."`) and the rate window `r`; `label(metric)` names a
 * series in the legend.
 */
const CHARTS = [
  {
    title: "CPU",
    unit: "percent",
    yMax: 100,
    queries: [
      { label: () => "busy", expr: (h, r) => `100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{${h},mode="idle"}[${r}])))` },
      { label: () => "user", expr: (h, r) => share(h, r, 'mode=~"user|nice"') },
      { label: () => "system", expr: (h, r) => share(h, r, 'mode=~"system|irq|softirq"') },
      { label: () => "iowait", expr: (h, r) => share(h, r, 'mode="iowait"') },
    ],
  },
  {
    title: "CPU per core",
    unit: "percent",
    yMax: 100,
    queries: [
      { label: (m) => `cpu ${m.cpu}`, expr: (h, r) => `100 * (1 - avg by (cpu) (rate(node_cpu_seconds_total{${h},mode="idle"}[${r}])))` },
    ],
  },
  {
    title: "Load average",
    unit: "load",
    queries: ["1", "5", "15"].map((n) => ({ label: () => `${n}m`, expr: (h) => `max by (instance) (node_load${n}{${h}})` })),
  },
  {
    title: "Memory",
    unit: "bytes",
    queries: [
      { label: () => "used", expr: (h) => `max by (instance) (node_memory_MemTotal_bytes{${h}}) - max by (instance) (node_memory_MemAvailable_bytes{${h}})` },
      { label: () => "available", expr: (h) => `max by (instance) (node_memory_MemAvailable_bytes{${h}})` },
      { label: () => "cached", expr: (h) => `max by (instance) (node_memory_Cached_bytes{${h}})` },
      { label: () => "buffers", expr: (h) => `max by (instance) (node_memory_Buffers_bytes{${h}})` },
    ],
  },
  {
    title: "Swap",
    unit: "bytes",
    queries: [
      { label: () => "used", expr: (h) => `max by (instance) (node_memory_SwapTotal_bytes{${h}}) - max by (instance) (node_memory_SwapFree_bytes{${h}})` },
      { label: () => "total", expr: (h) => `max by (instance) (node_memory_SwapTotal_bytes{${h}})` },
    ],
  },
  {
    title: "File system usage",
    unit: "percent",
    yMax: 100,
    queries: [
      {
        label: (m) => m.mountpoint,
        expr: (h) => `100 * (1 - node_filesystem_avail_bytes{${h},${FS}} / (node_filesystem_size_bytes{${h},${FS}} > 0))`,
      },
    ],
  },
  {
    title: "Disk IO",
    unit: "bytes/s",
    queries: [
      { label: (m) => `${m.device} read`, expr: (h, r) => `rate(node_disk_read_bytes_total{${h},${DISK}}[${r}])` },
      { label: (m) => `${m.device} write`, expr: (h, r) => `rate(node_disk_written_bytes_total{${h},${DISK}}[${r}])` },
    ],
  },
  {
    title: "Disk IOPS",
    unit: "ops/s",
    queries: [
      { label: (m) => `${m.device} reads`, expr: (h, r) => `rate(node_disk_reads_completed_total{${h},${DISK}}[${r}])` },
      { label: (m) => `${m.device} writes`, expr: (h, r) => `rate(node_disk_writes_completed_total{${h},${DISK}}[${r}])` },
    ],
  },
  {
    title: "Network traffic",
    unit: "bytes/s",
    queries: [
      { label: (m) => `${m.device} rx`, expr: (h, r) => `rate(node_network_receive_bytes_total{${h},${NET}}[${r}])` },
      { label: (m) => `${m.device} tx`, expr: (h, r) => `rate(node_network_transmit_bytes_total{${h},${NET}}[${r}])` },
    ],
  },
  {
    title: "Network packets",
    unit: "packets/s",
    queries: [
      { label: (m) => `${m.device} rx`, expr: (h, r) => `rate(node_network_receive_packets_total{${h},${NET}}[${r}])` },
      { label: (m) => `${m.device} tx`, expr: (h, r) => `rate(node_network_transmit_packets_total{${h},${NET}}[${r}])` },
    ],
  },
  {
    title: "Network errors and drops",
    unit: "packets/s",
    queries: [
      ["receive_errs", "rx errors"],
      ["transmit_errs", "tx errors"],
      ["receive_drop", "rx drops"],
      ["transmit_drop", "tx drops"],
    ].map(([name, what]) => ({
      label: (m) => `${m.device} ${what}`,
      expr: (h, r) => `rate(node_network_${name}_total{${h},${NET}}[${r}])`,
    })),
  },
  {
    title: "TCP connections",
    unit: "count",
    queries: [
      { label: (m) => m.state, expr: (h) => `sum by (state) (node_tcp_connection_states{${h}})` },
      { label: () => "in use (sockstat)", expr: (h) => `sum by (instance) ({__name__=~"node_sockstat_TCP6?_inuse",${h}})` },
    ],
  },
];

function share(h, r, mode) {
  return (
    `100 * sum by (instance) (rate(node_cpu_seconds_total{${h},${mode}}[${r}]))` +
    ` / sum by (instance) (rate(node_cpu_seconds_total{${h}}[${r}]))`
  );
}

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
    const charts = this.charts.map(({ spec, chart }) => this.loadChart(spec, chart, h, q));
    await Promise.all([this.loadCurrent(), ...charts]);
    if (!this.alive) return;
    this.updates += 1;
    this.root.dataset.updated = String(this.updates);
    if (!this.loaded) {
      this.loaded = true;
      requestAnimationFrame(() => markOnce("mmx:rendered"));
    }
  }

  async loadChart(spec, chart, h, q) {
    try {
      const results = await Promise.all(
        spec.queries.map((query) =>
          get("/api/v1/query_range", { query: query.expr(h, q.rate), start: q.start, end: q.end, step: q.step }).then((data) =>
            (data.result || [])
              .map((s) => ({ ...s, label: query.label(s.metric || {}) ?? "" }))
              .sort((a, b) => collator.compare(a.label, b.label)),
          ),
        ),
      );
      if (this.alive) chart.setSeries(results.flat(), q);
    } catch (err) {
      if (this.alive) chart.showMessage(`Error: ${err.message}`, true);
    }
  }

  /** Whether the server knows the host (asked until it does, so an unknown one is no 404). */
  async hostKnown() {
    if (!this.known) {
      const servers = await get("/api/v1/servers");
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
