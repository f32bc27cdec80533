// The Agents page: one row per agent from /api/v1/servers with its last push, version, push
// interval, spool backlog and push errors. An agent that has not pushed for three of its
// intervals, or that holds a spool backlog, is highlighted. Every server text goes through
// ../dom.js as text.

import { el, labelCells, replace } from "../dom.js";
import { get } from "../api.js";
import { formatBytes, formatDuration, formatRelativeTime } from "../format.js";

const STALE_INTERVALS = 3;

/** The columns: title, the value sorted on, and how a cell shows. */
const COLUMNS = [
  { key: "instance", title: "Instance", sort: (s) => s.instance || "" },
  { key: "status", title: "Status", sort: (s) => s.status || "" },
  { key: "version", title: "Agent version", sort: (s) => s.agent_version || "" },
  { key: "last_push", title: "Last push", sort: (s) => s.last_push_unix ?? -Infinity },
  { key: "interval", title: "Push interval", sort: (s) => s.interval_seconds ?? -Infinity, numeric: true },
  { key: "spool", title: "Spool backlog", sort: (s) => s.spool_bytes ?? -Infinity, numeric: true },
  { key: "dropped", title: "Dropped samples", sort: (s) => s.dropped_samples ?? -Infinity, numeric: true },
  { key: "errors", title: "Push errors", sort: (s) => s.push_errors ?? -Infinity, numeric: true },
];

/** Mount the Agents page (contract: ./README.md). */
export async function mount(container, params = {}, ctx = {}) {
  const page = new AgentsPage(container, params || {}, ctx || {});
  await page.refresh();
  return { refresh: () => page.refresh(), unmount: () => page.unmount() };
}

class AgentsPage {
  constructor(container, params, ctx) {
    this.ctx = ctx;
    this.servers = [];
    this.sortKey = "instance";
    this.descending = false;
    this.search = el("input", {
      type: "search",
      placeholder: "Search instance, agent or version",
      "aria-label": "Search agents",
      value: params.q || "",
      oninput: () => this.render(),
    });
    this.status = el("p", { class: "mx-al-status", role: "status" });
    this.head = el("tr");
    this.body = el("tbody");
    this.root = el(
      "div",
      { class: "mx-al-page" },
      el("h1", { class: "mx-al-title" }, "Agents"),
      el("div", { class: "mx-al-filters" }, this.search),
      this.status,
      el("div", { class: "mx-al-scroll" }, (this.table = el("table", { class: "mx-al-table mx-ag-table" }, el("thead", {}, this.head), this.body))),
    );
    container.append(this.root);
    // "12 s ago" moves on between the shell's refreshes.
    this.ticker = setInterval(() => this.render(), 5000);
  }

  async refresh() {
    try {
      const servers = await get("/api/v1/servers", { metrics: "false" }); // no usage values needed
      this.servers = Array.isArray(servers) ? servers : [];
      this.error = null;
    } catch (err) {
      this.error = err;
    }
    this.render();
  }

  sortBy(key) {
    this.descending = this.sortKey === key ? !this.descending : false;
    this.sortKey = key;
    this.render();
  }

  render() {
    const now = Date.now() / 1000;
    const needle = this.search.value.trim().toLowerCase();
    const column = COLUMNS.find((c) => c.key === this.sortKey) || COLUMNS[0];
    const shown = this.servers
      .filter((s) => !needle || [s.instance, s.agent, s.agent_version].some((t) => String(t || "").toLowerCase().includes(needle)))
      .sort((a, b) => compare(column.sort(a), column.sort(b)) * (this.descending ? -1 : 1) || compare(a.instance, b.instance));
    const attention = this.servers.filter((s) => needsAttention(s, now)).length;
    replace(
      this.status,
      this.error
        ? el("span", { class: "mx-al-error" }, `Agents cannot be loaded: ${this.error.message}`)
        : `${this.servers.length} agent${this.servers.length === 1 ? "" : "s"}` +
            (attention ? `, ${attention} needing attention` : "") +
            (shown.length !== this.servers.length ? ` (${shown.length} shown)` : ""),
    );
    replace(
      this.head,
      COLUMNS.map((c) =>
        el(
          "th",
          {
            scope: "col",
            class: c.numeric ? "mx-al-num" : "",
            "aria-sort": c.key === this.sortKey ? (this.descending ? "descending" : "ascending") : "none",
          },
          el(
            "button",
            { type: "button", class: "mx-al-sort", onclick: () => this.sortBy(c.key) },
            c.title,
            c.key === this.sortKey ? (this.descending ? " ▼" : " ▲") : "",
          ),
        ),
      ),
    );
    replace(
      this.body,
      shown.length ? shown.map((s) => this.row(s, now)) : el("tr", {}, el("td", { colspan: COLUMNS.length, class: "mx-al-empty" }, "No agent has pushed yet.")),
    );
    labelCells(this.table);
  }

  row(server, now) {
    const stale = isStale(server, now);
    const backlog = (server.spool_bytes || 0) > 0;
    const classes = ["mx-ag-row", stale ? "mx-ag-stale" : "", backlog ? "mx-ag-backlog" : ""].filter(Boolean).join(" ");
    const why = [stale ? `no push for over ${STALE_INTERVALS} intervals` : "", backlog ? "data waiting in the spool" : ""].filter(Boolean).join("; ");
    const href = `/hosts/${encodeURIComponent(server.instance || "")}`;
    return el(
      "tr",
      { class: classes, "data-instance": server.instance || "", title: why || null },
      el("td", {}, el("a", { href, onclick: (event) => this.follow(event, href) }, server.instance || ""),
        server.agent && server.agent !== server.instance ? el("small", { class: "mx-al-kind" }, ` ${server.agent}`) : null),
      el("td", {}, el("span", { class: `mx-al-badge mx-ag-status-${server.status === "up" ? "up" : "down"}` }, server.status || "?")),
      el("td", {}, server.agent_version || "–"),
      el("td", { title: server.last_push || "", class: stale ? "mx-ag-warn" : "" },
        typeof server.last_push_unix === "number" ? formatRelativeTime(server.last_push, false, now * 1000) : "never"),
      el("td", { class: "mx-al-num" }, typeof server.interval_seconds === "number" ? formatDuration(server.interval_seconds) : "–"),
      el("td", { class: `mx-al-num${backlog ? " mx-ag-warn" : ""}`, title: `${server.spool_bytes ?? "?"} bytes` }, formatBytes(server.spool_bytes)),
      el("td", { class: `mx-al-num${server.dropped_samples ? " mx-ag-warn" : ""}` }, count(server.dropped_samples)),
      el("td", { class: `mx-al-num${server.push_errors ? " mx-ag-warn" : ""}` }, count(server.push_errors)),
    );
  }

  follow(event, href) {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (typeof this.ctx.navigate !== "function") return;
    event.preventDefault();
    this.ctx.navigate(href);
  }

  unmount() {
    clearInterval(this.ticker);
    this.root.remove();
  }
}

function isStale(server, now) {
  if (typeof server.last_push_unix !== "number") return true;
  const interval = server.interval_seconds > 0 ? server.interval_seconds : 15;
  return now - server.last_push_unix > STALE_INTERVALS * interval;
}

function needsAttention(server, now) {
  return isStale(server, now) || (server.spool_bytes || 0) > 0;
}

function compare(a, b) {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

function count(value) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "–";
  return value.toLocaleString();
}
