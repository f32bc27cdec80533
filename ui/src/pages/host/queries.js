// What the host page asks the server and how it turns the answers into charts.
//
// The page sends one /api/v1/query_range request per entry of QUERIES (seven in all), and each
// chart of CHARTS takes its series from one of those answers: charts that read the same
// metrics share a request (memory, swap and load; the two disk charts; the three network
// charts). Fewer, larger requests load a page faster than one per series: the browser opens
// at most six connections to a server, and every request costs the server its parse, index
// lookup and response. The expressions follow the catalog's (src/multimonx/promql/catalog.yaml),
// with the host's matcher written in and, where a chart shows items, grouped by device, core
// or mount point instead of summed.

import { parseSample } from "../../format.js";

// The catalog's filters: real file systems, physical disks, non-virtual network interfaces.
const FS = 'fstype!~"rootfs|tmpfs|ramfs|devtmpfs|overlay|squashfs|autofs|nsfs|fuse.lxcfs"';
const DISK = 'device=~"(/dev/)?(mmcblk.p.+|nvme.+|rbd.+|sd.+|vd.+|xvd.+|dm-.+|md.+|dasd.+)"';
const NET = 'device!~"lo|veth.*|docker.*|br-.*|virbr.*|cni.*|flannel.*|cali.*|ifb.*"';

const LOAD = { node_load1: "1m", node_load5: "5m", node_load15: "15m" };
const MEMORY = {
  MemTotal: "node_memory_MemTotal_bytes",
  MemAvailable: "node_memory_MemAvailable_bytes",
  Cached: "node_memory_Cached_bytes",
  Buffers: "node_memory_Buffers_bytes",
  SwapTotal: "node_memory_SwapTotal_bytes",
  SwapFree: "node_memory_SwapFree_bytes",
};
const GAUGES = [...Object.keys(LOAD), ...Object.values(MEMORY)];

/** The disk counters, by the `part` label the disk query gives each one's rate. */
const DISK_PARTS = {
  read: "node_disk_read_bytes_total",
  write: "node_disk_written_bytes_total",
  reads: "node_disk_reads_completed_total",
  writes: "node_disk_writes_completed_total",
};

/** The network counters, by `part` as for the disks. */
const NET_PARTS = {
  rx: "node_network_receive_bytes_total",
  tx: "node_network_transmit_bytes_total",
  "rx packets": "node_network_receive_packets_total",
  "tx packets": "node_network_transmit_packets_total",
  "rx errors": "node_network_receive_errs_total",
  "tx errors": "node_network_transmit_errs_total",
  "rx drops": "node_network_receive_drop_total",
  "tx drops": "node_network_transmit_drop_total",
};

/**
 * The rates of several counters in one expression: each counter's `rate(...)` with a `part`
 * label naming it (rate drops the metric name, so without it two counters of one device would
 * be the same series), joined with `or`.
 * @param {Record<string, string>} parts `part` value -> metric name
 * @param {string} matchers the selector's matchers, host included
 * @param {string} r the rate window
 */
export function taggedRates(parts, matchers, r) {
  return Object.entries(parts)
    .map(([part, name]) => `label_replace(rate(${name}{${matchers}}[${r}]), "part", "${part}", "", "")`)
    .join(" or ");
}

/**
 * The host page's requests: `(h, r) => PromQL` from the host's matcher `h`
 * (`instance="..."`) and the rate window `r`.
 */
export const QUERIES = {
  // Seconds per second in each mode, summed over the cores: the CPU chart's shares.
  cpuModes: (h, r) => `sum by (mode) (rate(node_cpu_seconds_total{${h}}[${r}]))`,
  cpuCores: (h, r) => `100 * (1 - avg by (cpu) (rate(node_cpu_seconds_total{${h},mode="idle"}[${r}])))`,
  // Load and memory gauges, one series per metric (max: a host reported under two jobs).
  gauges: (h) => `max by (__name__) ({__name__=~"${GAUGES.join("|")}",${h}})`,
  filesystems: (h) => `100 * (1 - node_filesystem_avail_bytes{${h},${FS}} / (node_filesystem_size_bytes{${h},${FS}} > 0))`,
  disks: (h, r) => taggedRates(DISK_PARTS, `${h},${DISK}`, r),
  network: (h, r) => taggedRates(NET_PARTS, `${h},${NET}`, r),
  // node_exporter's tcpstat puts the bytes queued on sockets in the same metric, as two more
  // "states": they are no connections.
  tcp: (h) =>
    `sum by (state) (node_tcp_connection_states{${h},state!~"(rx|tx)_queued_bytes"})` +
    ` or label_replace(sum({__name__=~"node_sockstat_TCP6?_inuse",${h}}), "state", "in use (sockstat)", "", "")`,
};

const collator = new Intl.Collator(undefined, { numeric: true });

/**
 * @typedef {{metric: Record<string, string>, values: [number, string | number][]}} Series
 * @typedef {Series & {label: string}} Labelled
 */

/** The series of `result` labelled by `label(metric)`, in natural order of their labels. */
export function labelled(result, label) {
  return result
    .map((s) => ({ metric: s.metric || {}, values: s.values || [], label: String(label(s.metric || {}) ?? "") }))
    .sort((a, b) => collator.compare(a.label, b.label));
}

/** The points of a series as a map from time to value, NaN and infinities left out. */
function points(series) {
  const map = new Map();
  for (const [t, v] of series?.values || []) {
    const x = parseSample(v);
    if (x !== null) map.set(t, x);
  }
  return map;
}

/** A computed series (no labels of its own). */
function computed(label, values) {
  return { metric: {}, label, values };
}

/**
 * The CPU chart from the seconds per second of each mode (`cpuModes`): busy (all but idle),
 * user (user, nice), system (system, irq, softirq) and iowait, each in percent of all modes'
 * time at that point. A line whose modes the host does not report is left out.
 * @param {Series[]} result
 * @returns {Labelled[]}
 */
export function cpuShares(result) {
  const modes = new Map(result.map((s) => [s.metric?.mode, points(s)]));
  const sums = new Map();
  for (const pts of modes.values()) for (const [t, v] of pts) sums.set(t, (sums.get(t) ?? 0) + v);
  const total = [...sums].sort((x, y) => x[0] - y[0]);
  const share = (label, names, complement = false) => {
    const parts = names.map((name) => modes.get(name)).filter(Boolean);
    if (!parts.length) return [];
    const values = [];
    for (const [t, all] of total) {
      if (!(all > 0)) continue;
      let sum = 0;
      let seen = false;
      for (const part of parts) {
        const v = part.get(t);
        if (v !== undefined) {
          sum += v;
          seen = true;
        }
      }
      if (seen) values.push([t, 100 * (complement ? 1 - sum / all : sum / all)]);
    }
    return [computed(label, values)];
  };
  return [
    ...share("busy", ["idle"], true),
    ...share("user", ["user", "nice"]),
    ...share("system", ["system", "irq", "softirq"]),
    ...share("iowait", ["iowait"]),
  ];
}

/** `minuend - subtrahend` at every time both have a value (a series of neither: none). */
function difference(label, minuend, subtrahend) {
  if (!minuend || !subtrahend) return [];
  const right = points(subtrahend);
  const values = [];
  for (const [t, v] of points(minuend)) if (right.has(t)) values.push([t, v - right.get(t)]);
  return [computed(label, values)];
}

/** The series of `result` by metric name. */
function byName(result) {
  return new Map(result.map((s) => [s.metric?.__name__, s]));
}

/** The series named in `names` (metric name -> label), in that order, those present. */
function pick(series, names) {
  return Object.entries(names)
    .filter(([name]) => series.has(name))
    .map(([name, label]) => ({ ...series.get(name), label }));
}

/** The series of `result` whose `part` is one of `parts`, labelled `<device> <part>`. */
function devices(result, parts) {
  return labelled(
    result.filter((s) => parts.includes(s.metric?.part)),
    (m) => `${m.device} ${m.part}`,
  );
}

/**
 * The charts, in page order: `query` names the request (QUERIES) whose answer `series` turns
 * into the chart's labelled series.
 */
export const CHARTS = [
  { title: "CPU", unit: "percent", yMax: 100, query: "cpuModes", series: cpuShares },
  { title: "CPU per core", unit: "percent", yMax: 100, query: "cpuCores", series: (r) => labelled(r, (m) => `cpu ${m.cpu}`) },
  { title: "Load average", unit: "load", query: "gauges", series: (r) => pick(byName(r), LOAD) },
  {
    title: "Memory",
    unit: "bytes",
    query: "gauges",
    series: (r) => {
      const m = byName(r);
      return [
        ...difference("used", m.get(MEMORY.MemTotal), m.get(MEMORY.MemAvailable)),
        ...pick(m, { [MEMORY.MemAvailable]: "available", [MEMORY.Cached]: "cached", [MEMORY.Buffers]: "buffers" }),
      ];
    },
  },
  {
    title: "Swap",
    unit: "bytes",
    query: "gauges",
    series: (r) => {
      const m = byName(r);
      return [...difference("used", m.get(MEMORY.SwapTotal), m.get(MEMORY.SwapFree)), ...pick(m, { [MEMORY.SwapTotal]: "total" })];
    },
  },
  { title: "File system usage", unit: "percent", yMax: 100, query: "filesystems", series: (r) => labelled(r, (m) => m.mountpoint) },
  { title: "Disk IO", unit: "bytes/s", query: "disks", series: (r) => devices(r, ["read", "write"]) },
  { title: "Disk IOPS", unit: "ops/s", query: "disks", series: (r) => devices(r, ["reads", "writes"]) },
  { title: "Network traffic", unit: "bytes/s", query: "network", series: (r) => devices(r, ["rx", "tx"]) },
  { title: "Network packets", unit: "packets/s", query: "network", series: (r) => devices(r, ["rx packets", "tx packets"]) },
  {
    title: "Network errors and drops",
    unit: "packets/s",
    query: "network",
    series: (r) => devices(r, ["rx errors", "tx errors", "rx drops", "tx drops"]),
  },
  { title: "TCP connections", unit: "count", query: "tcp", series: (r) => labelled(r, (m) => m.state) },
];
