// Steps, rate windows and label quoting (run: node --test ui/test/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { RANGES, quoteLabel, rangeQuery, windowOf } from "../src/timerange.js";

const expected = { "1h": [15, "60s"], "6h": [60, "240s"], "24h": [285, "1140s"], "7d": [2010, "8040s"], "30d": [8640, "34560s"] };

for (const [range, [step, rate]] of Object.entries(expected)) {
  test(`${range}: step ${step} s (about 300 points), rate window ${rate}`, () => {
    const now = 1796650000;
    const q = rangeQuery(windowOf({ range }, now));
    assert.equal(q.step, step);
    assert.equal(q.rate, rate);
    assert.equal(q.end % step, 0);
    assert.ok(q.end <= now && q.end > now - step);
    const points = (q.end - q.start) / step + 1;
    // Rounding the step down to a multiple of 15 s (as /api/v1/metrics/history does) gives 300-375;
    // 1 h has 241 (the 15 s minimum).
    assert.ok(points >= 241 && points <= 376, `${points} points`);
    assert.ok(q.end - q.start >= RANGES[range] - step);
  });
}

test("a custom window uses from/to", () => {
  assert.deepEqual(windowOf({ range: "custom", from: 100, to: 200 }), { start: 100, end: 200 });
  assert.equal(rangeQuery({ start: 0, end: 600 }).step, 15);
});

test("quoteLabel escapes backslash, quote and newline", () => {
  assert.equal(quoteLabel('we"ird\\host'), '"we\\"ird\\\\host"');
  assert.equal(quoteLabel("a\nb"), '"a\\nb"');
  assert.equal(quoteLabel("<script>"), '"<script>"');
});
