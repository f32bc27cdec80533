// The Alerts page's "History" tab: the alert state changes of /api/v1/alerts/history in a
// time range (its own or the header's), filtered by state, instance, alert name and severity,
// newest first, a page at a time ("Load more").

import { el, labelCells, replace } from "../../dom.js";
import { get } from "../../api.js";
import { formatAlertValue, formatLocaleTime, parseDuration } from "../../format.js";
import { Section, columnHeads, cssToken, stateBadge } from "./common.js";

const HISTORY_RANGES = ["1h", "6h", "24h", "7d"];
const HISTORY_PAGE = 200;

/** The "History" tab. `params` may preset the filters (`host`, `rule`, `severity`). */
export class HistorySection extends Section {
  constructor(ctx, params) {
    super("History");
    this.events = [];
    this.more = false;
    this.ctx = ctx;
    this.range = el("select", { "aria-label": "Time range", onchange: () => this.reload() },
      ctx.range ? el("option", { value: "shell" }, "the header's range") : null,
      HISTORY_RANGES.map((r) => el("option", { value: r }, `last ${r}`)));
    this.range.value = ctx.range ? "shell" : "24h";
    const text = (label, name) => el("input", { type: "search", name, placeholder: label, "aria-label": label,
      value: params?.[name] || "", oninput: () => this.reloadSoon() });
    // The server matches these exactly (no substring search).
    this.host = text("Instance (exact)", "host");
    this.rule = text("Alert name (exact)", "rule");
    this.severity = text("Severity", "severity");
    this.state = el("select", { "aria-label": "State", onchange: () => this.reload() },
      ["", "pending", "firing", "resolved"].map((s) => el("option", { value: s }, s || "Any state")));
    this.body = el("tbody");
    this.moreButton = el("button", { type: "button", class: "mx-al-action", onclick: () => this.loadMore() }, "Load more");
    this.root = el("section", { class: "mx-al-section", "aria-label": "History" },
      el("div", { class: "mx-al-filters" }, this.range, this.state, this.host, this.rule, this.severity),
      this.status,
      el("div", { class: "mx-al-scroll" }, (this.table = el("table", { class: "mx-al-table" },
        columnHeads(["Time", "State", "Alert", "Instance", "Severity", "Summary", "Value"]),
        this.body))),
      this.moreButton);
  }

  /** The time range: the chosen "last ..." or the shell's (`ctx.range`, custom `from`/`to`). */
  window() {
    const now = Date.now() / 1000;
    if (this.range.value === "shell") {
      const { range, from, to } = this.ctx;
      if (range === "custom" && Number.isFinite(from) && Number.isFinite(to)) return { start: from, end: to };
      const span = parseDuration(range);
      if (span) return { start: now - span, end: now };
    }
    return { start: now - (parseDuration(this.range.value) || 86400), end: now };
  }

  query(extra) {
    return { host: this.host.value.trim(), rule: this.rule.value.trim(), severity: this.severity.value.trim(),
      state: this.state.value, ...extra };
  }

  async fetch(params) {
    const answer = await get("/api/v1/alerts/history", this.query(params));
    return answer?.events || [];
  }

  /** Re-fetch the newest events, as many as are shown now. */
  async load() {
    const { start, end } = this.window();
    const limit = Math.min(10000, Math.max(HISTORY_PAGE, this.events.length));
    const events = await this.fetch({ start, end, limit });
    this.events = events;
    this.more = events.length >= limit;
  }

  async reload() {
    this.events = [];
    await this.refresh();
  }

  reloadSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reload(), 300);
  }

  /** Append the next page of older events; a failure shows until the next refresh succeeds. */
  async loadMore() {
    const oldest = this.events[this.events.length - 1];
    if (!oldest) return;
    const { start } = this.window();
    try {
      const events = await this.fetch({ start, end: Date.parse(oldest.time) / 1000, limit: HISTORY_PAGE });
      const seen = new Set(this.events.map(eventKey));
      const fresh = events.filter((e) => !seen.has(eventKey(e)));
      this.events = this.events.concat(fresh);
      this.more = events.length >= HISTORY_PAGE && fresh.length > 0;
    } catch (err) {
      this.error = err;
    }
    this.render();
  }

  render() {
    this.showStatus(`${this.events.length} event${this.events.length === 1 ? "" : "s"}`);
    replace(this.body, this.events.map((e) => {
      const labels = e.labels || {};
      return el("tr", { class: `mx-al-state-${cssToken(e.state)}` },
        el("td", { title: e.time }, formatLocaleTime(e.time)),
        el("td", {}, stateBadge(e.state)),
        el("td", {}, e.alertname || labels.alertname || ""),
        el("td", {}, labels.instance || ""),
        el("td", {}, labels.severity || ""),
        el("td", {}, e.annotations?.summary || ""),
        el("td", { class: "mx-al-num" }, e.value === null || e.value === undefined ? "" : formatAlertValue(e.value)));
    }));
    labelCells(this.table);
    this.moreButton.hidden = !this.more;
  }

  unmount() {
    clearTimeout(this.timer);
  }
}

/** One event's identity, to drop the events a "Load more" page repeats. */
function eventKey(e) {
  return `${e.time}|${e.state}|${JSON.stringify(Object.entries(e.labels || {}).sort())}`;
}
