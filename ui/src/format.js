// Humanised numbers, in one place: every page and chart formats values through these, so a
// unit reads the same everywhere. Missing values (null, NaN, ±Inf) read as an en dash.

const DASH = "–";
const BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
const DECIMAL = ["", "k", "M", "G", "T", "P", "E"];

/** True for a finite number. */
export function isValue(v) {
  return typeof v === "number" && Number.isFinite(v);
}

/** A number with about three significant digits (12.3, 123, 1.23), trailing zeros dropped. */
export function formatNumber(v, digits = 3) {
  if (!isValue(v)) return DASH;
  if (v === 0) return "0";
  const abs = Math.abs(v);
  if (abs >= 10 ** digits) return String(Math.round(v));
  if (abs < 0.001) return v.toExponential(1);
  const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(abs)));
  return String(Number(v.toFixed(Math.min(decimals, 4))));
}

function scaled(v, base, prefixes, suffix) {
  if (!isValue(v)) return DASH;
  let i = 0;
  let x = Math.abs(v);
  while (x >= base && i < prefixes.length - 1) {
    x /= base;
    i += 1;
  }
  const text = formatNumber(Math.sign(v) * x);
  const unit = prefixes[i] + suffix;
  return unit ? `${text} ${unit}` : text;
}

/** 12.5 → "12.5%". */
export function formatPercent(v) {
  return isValue(v) ? `${formatNumber(v)}%` : DASH;
}

/** Bytes with binary prefixes: 1536 → "1.5 KiB". */
export function formatBytes(v) {
  return scaled(v, 1024, BINARY, "");
}

/** Bytes per second with binary prefixes: 1536 → "1.5 KiB/s". */
export function formatBytesRate(v) {
  return isValue(v) ? `${formatBytes(v)}/s` : DASH;
}

/** A count with decimal prefixes: 12300 → "12.3 k". */
export function formatCount(v) {
  return scaled(v, 1000, DECIMAL, "");
}

/** A per-second rate of events: 12300, "packets" → "12.3 k packets/s". */
export function formatPerSecond(v, what = "") {
  if (!isValue(v)) return DASH;
  const text = formatCount(v);
  return `${text}${what ? ` ${what}` : ""}/s`;
}

/** Seconds as a duration: 0.25 → "250ms", 90 → "1m 30s", 93600 → "1d 2h". */
export function formatDuration(seconds) {
  if (!isValue(seconds)) return DASH;
  const sign = seconds < 0 ? "-" : "";
  let s = Math.abs(seconds);
  if (s < 1) return `${sign}${formatNumber(s * 1000)}ms`;
  if (s < 60) return `${sign}${formatNumber(s)}s`;
  const units = [
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ];
  const parts = [];
  for (const [name, size] of units) {
    const n = Math.floor(s / size);
    if (n > 0 || parts.length) {
      parts.push(`${n}${name}`);
      s -= n * size;
    }
    if (parts.length === 2) break;
  }
  return sign + parts.filter((p) => !p.startsWith("0")).join(" ");
}

/**
 * A duration as people and Prometheus write it, to seconds: "90s", "5m", "1h30m", "1d", "2w",
 * or plain seconds ("300", "1.5"). 0 when the text is not a positive duration.
 */
export function parseDuration(text) {
  const s = String(text || "").trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  const units = { w: 604800, d: 86400, h: 3600, m: 60, s: 1 };
  const re = /(\d+(?:\.\d+)?)(w|d|h|m|s)/gy;
  let total = 0;
  let consumed = 0;
  for (const match of s.matchAll(re)) {
    total += Number(match[1]) * units[match[2]];
    consumed += match[0].length;
  }
  return consumed === s.length && total > 0 ? total : 0;
}

/** Unix seconds as local date and time, "2026-12-07 14:35:26". */
export function formatDateTime(unix) {
  if (!isValue(unix)) return DASH;
  const d = new Date(unix * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

/** How long ago Unix time `unix` was, relative to `now` (Unix s): "5m 3s ago". */
export function formatAgo(unix, now = Date.now() / 1000) {
  if (!isValue(unix)) return DASH;
  const delta = now - unix;
  if (Math.abs(delta) < 1) return "just now";
  return delta > 0 ? `${formatDuration(delta)} ago` : `in ${formatDuration(-delta)}`;
}

/** An ISO 8601 time in the browser's locale, short date and time with seconds; other text as is. */
export function formatLocaleTime(iso) {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return String(iso || "");
  return t.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

/**
 * How far ISO 8601 time `iso` is from `now` (ms since the epoch), in words: "5 min ago",
 * "in 1 h 5 min", "2 d 3 h ago"; only the distance ("5 min") when `bare`; "?" for no time.
 */
export function formatRelativeTime(iso, bare = false, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "?";
  const seconds = Math.round((t - now) / 1000);
  const abs = Math.abs(seconds);
  const text = abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.floor(abs / 60)} min`
    : abs < 86400 ? `${Math.floor(abs / 3600)} h ${Math.floor((abs % 3600) / 60)} min`
      : `${Math.floor(abs / 86400)} d ${Math.floor((abs % 86400) / 3600)} h`;
  if (bare) return text;
  return seconds > 0 ? `in ${text}` : `${text} ago`;
}

/**
 * A value in one of the catalog's units (percent, bytes, bytes/s, packets/s, errors/s, ops/s,
 * count, load, seconds); anything else as a plain number.
 */
export function formatValue(v, unit) {
  switch (unit) {
    case "percent":
      return formatPercent(v);
    case "bytes":
      return formatBytes(v);
    case "bytes/s":
      return formatBytesRate(v);
    case "packets/s":
      return formatPerSecond(v, "pkt");
    case "errors/s":
      return formatPerSecond(v, "err");
    case "ops/s":
      return formatPerSecond(v, "io");
    case "count":
      return formatCount(v);
    case "seconds":
      return formatDuration(v);
    default:
      return formatNumber(v);
  }
}

/** A value for an axis tick: as formatValue, but shorter where the unit allows. */
export function formatAxis(v, unit) {
  switch (unit) {
    case "percent":
      return formatPercent(v);
    case "packets/s":
    case "errors/s":
    case "ops/s":
      return formatPerSecond(v);
    default:
      return formatValue(v, unit);
  }
}

/** A sample value as Prometheus sends it ("1.5", "NaN", "+Inf") as a number or null. */
export function parseSample(text) {
  if (text === "+Inf" || text === "-Inf" || text === "NaN") return null;
  const v = Number(text);
  return Number.isFinite(v) ? v : null;
}

/**
 * An alert's sample value (a number, or Prometheus's text: "95.25", "NaN", "+Inf") with four
 * significant digits, in exponent form from a million up and below 0.001; a value that is not
 * a finite number as it came ("NaN").
 */
export function formatAlertValue(value) {
  const n = parseSample(value);
  if (n === null) return String(value);
  if (n !== 0 && (Math.abs(n) >= 1e6 || Math.abs(n) < 1e-3)) return n.toExponential(2);
  return String(Number(n.toPrecision(4)));
}
