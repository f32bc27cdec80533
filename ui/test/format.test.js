// Humanised units (run: node --test ui/test/).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  formatBytes,
  formatBytesRate,
  formatCount,
  formatDuration,
  formatPercent,
  formatValue,
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
