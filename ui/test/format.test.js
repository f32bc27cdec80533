// Humanised units (run: node --test ui/test/).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  formatAlertValue,
  formatBytes,
  formatBytesRate,
  formatCount,
  formatDuration,
  formatLocaleTime,
  formatPercent,
  formatRelativeTime,
  formatValue,
  parseDuration,
  parseSample,
} from "../src/format.js";

const cases = [
  [formatPercent, 12.5, "12.5%"],
  [formatPercent, 100, "100%"],
  [formatPercent, 0.04, "0.04%"],
  [formatPercent, null, "–"],
  [formatBytes, 0, "0 B"],
  [formatBytes, 1023, "1023 B"],
  [formatBytes, 1536, "1.5 KiB"],
  [formatBytes, 5 * 2 ** 30, "5 GiB"],
  [formatBytes, NaN, "–"],
  [formatBytesRate, 1048576, "1 MiB/s"],
  [formatCount, 12300, "12.3 k"],
  [formatCount, 999, "999"],
  [formatDuration, 0.25, "250ms"],
  [formatDuration, 42, "42s"],
  [formatDuration, 90, "1m 30s"],
  [formatDuration, 3600, "1h"],
  [formatDuration, 93600, "1d 2h"],
];

for (const [fn, input, expected] of cases) {
  test(`${fn.name}(${input}) is ${expected}`, () => assert.equal(fn(input), expected));
}

test("formatValue follows the catalog's units", () => {
  assert.equal(formatValue(50, "percent"), "50%");
  assert.equal(formatValue(2048, "bytes/s"), "2 KiB/s");
  assert.equal(formatValue(1500, "packets/s"), "1.5 k pkt/s");
  assert.equal(formatValue(3.14159, "load"), "3.14");
});

test("parseSample reads Prometheus's sample strings", () => {
  assert.equal(parseSample("1.5"), 1.5);
  assert.equal(parseSample("NaN"), null);
  assert.equal(parseSample("+Inf"), null);
  assert.equal(parseSample("-Inf"), null);
});

const durations = [
  ["90s", 90],
  ["5m", 300],
  ["1h30m", 5400],
  ["1d12h", 129600],
  ["2w", 1209600],
  ["1.5h", 5400],
  ["300", 300],
  ["1.5", 1.5],
  [" 15m ", 900],
  // Not a positive duration: 0.
  ["", 0],
  ["0s", 0],
  ["5", 5],
  ["5M", 0],
  ["1h 30m", 0],
  ["1h30", 0],
  ["-5m", 0],
  ["custom", 0],
  [null, 0],
];

for (const [input, expected] of durations) {
  test(`parseDuration(${JSON.stringify(input)}) is ${expected}`, () => assert.equal(parseDuration(input), expected));
}

const NOW = Date.parse("2026-12-07T12:00:00Z");
const relative = [
  // [seconds from NOW, text, bare text]
  [-5, "5 s ago", "5 s"],
  [0, "0 s ago", "0 s"],
  [30, "in 30 s", "30 s"],
  [-59.6, "1 min ago", "1 min"],
  [-90, "1 min ago", "1 min"],
  [3300, "in 55 min", "55 min"],
  [-3900, "1 h 5 min ago", "1 h 5 min"],
  [-(2 * 86400 + 3 * 3600 + 59), "2 d 3 h ago", "2 d 3 h"],
];

for (const [offset, text, bare] of relative) {
  const iso = new Date(NOW + offset * 1000).toISOString();
  test(`formatRelativeTime ${offset} s from now is "${text}" ("${bare}" bare)`, () => {
    assert.equal(formatRelativeTime(iso, false, NOW), text);
    assert.equal(formatRelativeTime(iso, true, NOW), bare);
  });
}

test("formatRelativeTime reads no time as ?", () => {
  assert.equal(formatRelativeTime("", false, NOW), "?");
  assert.equal(formatRelativeTime(undefined, true, NOW), "?");
  assert.equal(formatRelativeTime("yesterday", false, NOW), "?");
});

test("formatLocaleTime passes text that is no time through", () => {
  assert.equal(formatLocaleTime("not a time"), "not a time");
  assert.equal(formatLocaleTime(undefined), "");
  assert.notEqual(formatLocaleTime("2026-12-07T12:00:00Z"), "2026-12-07T12:00:00Z");
});

const alertValues = [
  [95.25, "95.25"],
  ["95.256", "95.26"],
  [12345.678, "12350"],
  [0, "0"],
  [-0.5, "-0.5"],
  [0.001, "0.001"],
  [0.0001, "1.00e-4"],
  [123456, "123500"],
  [1e6, "1.00e+6"],
  ["2.5e+07", "2.50e+7"],
  ["NaN", "NaN"],
  ["+Inf", "+Inf"],
  ["-Inf", "-Inf"],
  ["n/a", "n/a"],
];

for (const [input, expected] of alertValues) {
  test(`formatAlertValue(${JSON.stringify(input)}) is ${expected}`, () => assert.equal(formatAlertValue(input), expected));
}
