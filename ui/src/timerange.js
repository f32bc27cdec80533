// The time range a page shows, and the query parameters derived from it: the step that gives
// a chart about 300 points and the rate window that covers several steps.

/** The preset ranges, in seconds, in the order the range buttons show them. */
export const RANGES = { "1h": 3600, "6h": 21600, "24h": 86400, "7d": 604800, "30d": 2592000 };

const POINTS = 300;
const MIN_STEP = 15;

/**
 * The window of a selection: a preset key, or "custom" with `from`/`to` (Unix s).
 * @param {{range: string, from?: number, to?: number}} sel
 * @param {number} [now] Unix s
 * @returns {{start: number, end: number}}
 */
export function windowOf(sel, now = Date.now() / 1000) {
  if (sel.range === "custom" && Number.isFinite(sel.from) && Number.isFinite(sel.to)) {
    return { start: sel.from, end: sel.to };
  }
  const span = RANGES[sel.range] ?? RANGES["1h"];
  return { start: now - span, end: now };
}

/**
 * Query parameters for a range query over `window`: step = span / 300 rounded down to a
 * multiple of 15 s (at least 15 s); a rate window of at least four steps and one minute; and
 * the window aligned to the step so that points stay put from one refresh to the next.
 */
export function rangeQuery({ start, end }) {
  const span = Math.max(end - start, MIN_STEP);
  const step = Math.max(MIN_STEP, Math.floor(span / POINTS / MIN_STEP) * MIN_STEP);
  const alignedEnd = Math.floor(end / step) * step;
  const alignedStart = Math.max(alignedEnd - Math.ceil(span / step) * step, 0);
  return { start: alignedStart, end: alignedEnd, step, rate: `${Math.max(4 * step, 60)}s` };
}

/** A label value inside a PromQL double-quoted string: backslash, quote and newline escaped. */
export function quoteLabel(value) {
  const escaped = String(value).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
  return `"${escaped}"`;
}
