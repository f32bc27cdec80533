// The host page's requests and the series its charts make of the answers (run: node --test ui/test/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { CHARTS, QUERIES, cpuShares, labelled, taggedRates } from "../src/pages/host/queries.js";

const H = 'instance="web-1"';

/** A range result series: `values` as the server sends them (strings). */
function series(metric, values) {
  return { metric, values: values.map(([t, v]) => [t, String(v)]) };
}

/** A chart by title. */
function chart(title) {
  const found = CHARTS.find((c) => c.title === title);
  assert.ok(found, title);
  return found;
}

/** label -> values (numbers) of a chart's series. */
function lines(result) {
  return Object.fromEntries(result.map((s) => [s.label, s.values.map(([t, v]) => [t, Number(v)])]));
}

test("every chart reads one of the requests, and every request feeds a chart", () => {
  const used = new Set(CHARTS.map((c) => c.query));
  assert.deepEqual([...used].sort(), Object.keys(QUERIES).sort());
  assert.equal(Object.keys(QUERIES).length, 7);
});

test("every request selects the host and uses the rate window it is given", () => {
  for (const [name, expr] of Object.entries(QUERIES)) {
    const text = expr(H, "240s");
    const selectors = text.match(/\{[^}]*\}/g) || [];
    assert.ok(selectors.length > 0, name);
    for (const selector of selectors) assert.ok(selector.includes(H), `${name}: ${selector}`);
    for (const window of text.match(/\[[^\]]*\]/g) || []) assert.equal(window, "[240s]", name);
  }
});

test("TCP connections leave out the queued bytes node_exporter reports as states", () => {
  assert.match(QUERIES.tcp(H, "60s"), /node_tcp_connection_states\{instance="web-1",state!~"\(rx\|tx\)_queued_bytes"\}/);
});

test("tagged rates name each counter's rate with a part label, joined by or", () => {
  const text = taggedRates({ read: "a_total", write: "b_total" }, `${H},device="sda"`, "60s");
  assert.equal(
    text,
    `label_replace(rate(a_total{${H},device="sda"}[60s]), "part", "read", "", "")` +
      ` or label_replace(rate(b_total{${H},device="sda"}[60s]), "part", "write", "", "")`,
  );
});

test("CPU shares: busy is all but idle, user, system and iowait in percent of all modes", () => {
  const result = [
    series({ mode: "idle" }, [[0, 3], [15, 2]]),
    series({ mode: "user" }, [[0, 0.5], [15, 1]]),
    series({ mode: "nice" }, [[0, 0.1], [15, 0.2]]),
    series({ mode: "system" }, [[0, 0.2], [15, 0.4]]),
    series({ mode: "softirq" }, [[0, 0.1], [15, 0.1]]),
    series({ mode: "iowait" }, [[0, 0.1], [15, 0.3]]),
  ];
  const got = lines(cpuShares(result));
  assert.deepEqual(Object.keys(got), ["busy", "user", "system", "iowait"]);
  const close = (actual, expected) =>
    actual.forEach(([t, v], i) => {
      assert.equal(t, expected[i][0]);
      assert.ok(Math.abs(v - expected[i][1]) < 1e-9, `${v} != ${expected[i][1]}`);
    });
  close(got.busy, [[0, 25], [15, 50]]); // totals: 4 and 4
  close(got.user, [[0, 15], [15, 30]]);
  close(got.system, [[0, 7.5], [15, 12.5]]);
  close(got.iowait, [[0, 2.5], [15, 7.5]]);
});

test("CPU shares: a mode the host lacks gives no line, and a point with no time gives none", () => {
  const result = [series({ mode: "idle" }, [[0, 1], [15, 0]]), series({ mode: "user" }, [[0, 1], [15, 0]])];
  const got = lines(cpuShares(result));
  assert.deepEqual(Object.keys(got), ["busy", "user"]);
  assert.deepEqual(got.busy, [[0, 50]]); // at 15 no mode counted any time: no share
  assert.deepEqual(lines(cpuShares([])), {});
});

test("CPU shares leave out NaN samples: busy is unknown where idle is", () => {
  const result = [series({ mode: "idle" }, [[0, "NaN"], [15, 1]]), series({ mode: "user" }, [[0, 1], [15, 1]])];
  const got = lines(cpuShares(result));
  assert.deepEqual(got.busy, [[15, 50]]);
  assert.deepEqual(got.user, [[0, 100], [15, 50]]);
});

test("memory and swap: used is total minus available (or free), where both have a point", () => {
  const result = [
    series({ __name__: "node_memory_MemTotal_bytes" }, [[0, 100], [15, 100], [30, 100]]),
    series({ __name__: "node_memory_MemAvailable_bytes" }, [[0, 40], [30, 10]]),
    series({ __name__: "node_memory_Cached_bytes" }, [[0, 20]]),
    series({ __name__: "node_memory_SwapTotal_bytes" }, [[0, 8]]),
    series({ __name__: "node_memory_SwapFree_bytes" }, [[0, 6]]),
    series({ __name__: "node_load1" }, [[0, 1.5]]),
    series({ __name__: "node_load15" }, [[0, 0.5]]),
  ];
  const memory = lines(chart("Memory").series(result));
  assert.deepEqual(Object.keys(memory), ["used", "available", "cached"]); // no buffers reported
  assert.deepEqual(memory.used, [[0, 60], [30, 90]]);
  assert.deepEqual(lines(chart("Swap").series(result)), { used: [[0, 2]], total: [[0, 8]] });
  assert.deepEqual(Object.keys(lines(chart("Load average").series(result))), ["1m", "15m"]);
  assert.deepEqual(chart("Swap").series(result.slice(0, 3)), []);
});

test("disk and network charts take their parts of the shared answer, labelled by device", () => {
  const disk = [
    series({ device: "sdb", part: "read" }, [[0, 1]]),
    series({ device: "sda", part: "write" }, [[0, 2]]),
    series({ device: "sda", part: "reads" }, [[0, 3]]),
    series({ device: "sda", part: "read" }, [[0, 4]]),
  ];
  assert.deepEqual(
    chart("Disk IO").series(disk).map((s) => s.label),
    ["sda read", "sda write", "sdb read"],
  );
  assert.deepEqual(
    chart("Disk IOPS").series(disk).map((s) => s.label),
    ["sda reads"],
  );
  const net = [
    series({ device: "eth0", part: "rx" }, [[0, 1]]),
    series({ device: "eth0", part: "rx drops" }, [[0, 0]]),
    series({ device: "eth0", part: "tx packets" }, [[0, 5]]),
  ];
  assert.deepEqual(chart("Network traffic").series(net).map((s) => s.label), ["eth0 rx"]);
  assert.deepEqual(chart("Network packets").series(net).map((s) => s.label), ["eth0 tx packets"]);
  assert.deepEqual(chart("Network errors and drops").series(net).map((s) => s.label), ["eth0 rx drops"]);
});

test("labelled series sort naturally and keep hostile label text as text", () => {
  const result = [series({ cpu: "10" }, []), series({ cpu: "2" }, []), series({ cpu: "<script>" }, [])];
  assert.deepEqual(
    labelled(result, (m) => `cpu ${m.cpu}`).map((s) => s.label),
    ["cpu <script>", "cpu 2", "cpu 10"],
  );
});
