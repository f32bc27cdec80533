// The Alerts page: active alerts (with silencing), silences, alert history and rules, as four
// tabs. Every label value and annotation reaches the DOM as text through ../dom.js.
// Number and time formatting uses small private helpers at the end of this module until
// ../format.js lands.

import { el, append, replace } from "../dom.js";
import { get, send, ApiError } from "../api.js";

const TABS = [
  ["active", "Active"],
  ["silences", "Silences"],
  ["history", "History"],
  ["rules", "Rules"],
];
const SEVERITY_RANK = { critical: 0, error: 1, warning: 2, info: 3 };
const DURATIONS = ["15m", "1h", "4h", "1d"];
const HISTORY_RANGES = ["1h", "6h", "24h", "7d"];
const HISTORY_PAGE = 200;
const OPERATORS = [">", ">=", "<", "<=", "==", "!="];
/** Where a field of the rules API's `errors` map shows in the form when it has no row. */
const FIELD_OF_ERROR = { expr: "metric", operator: "threshold" };

/** Mount the Alerts page (contract: ./README.md). `params.tab` picks the first tab. */
export async function mount(container, params = {}, ctx = {}) {
  const page = new AlertsPage(container, params || {}, ctx || {});
  await page.show(TABS.some(([id]) => id === params?.tab) ? params.tab : "active");
  return { refresh: () => page.refresh(), unmount: () => page.unmount() };
}

class AlertsPage {
  constructor(container, params, ctx) {
    this.ctx = ctx;
    this.current = null;
    this.sections = {
      active: new ActiveSection(ctx),
      silences: new SilencesSection(),
      history: new HistorySection(ctx, params),
      rules: new RulesSection(),
    };
    this.buttons = {};
    const tabs = el(
      "nav",
      { class: "mx-al-tabs", role: "tablist", "aria-label": "Alerts sections" },
      TABS.map(([id, title]) => {
        this.buttons[id] = el(
          "button",
          { type: "button", role: "tab", class: "mx-al-tab", onclick: () => this.show(id) },
          title,
        );
        return this.buttons[id];
      }),
    );
    this.root = el(
      "div",
      { class: "mx-al-page" },
      el("h1", { class: "mx-al-title" }, "Alerts"),
      tabs,
      TABS.map(([id]) => this.sections[id].root),
    );
    container.append(this.root);
    // Relative times ("5 min ago") move on between refreshes.
    this.ticker = setInterval(() => this.sections[this.current]?.tick?.(), 15000);
  }

  async show(id) {
    this.current = id;
    rememberTab(id);
    for (const [key] of TABS) {
      this.sections[key].root.hidden = key !== id;
      this.buttons[key].setAttribute("aria-selected", String(key === id));
    }
    await this.sections[id].refresh();
  }

  async refresh() {
    await keepingFocus(() => this.sections[this.current].refresh());
  }

  unmount() {
    clearInterval(this.ticker);
    for (const section of Object.values(this.sections)) section.unmount?.();
    this.root.remove();
  }
}

/** Keep the open tab in the URL (`?tab=`), so a reload or a shared link opens it again. */
function rememberTab(id) {
  const url = new URL(window.location.href);
  if ((url.searchParams.get("tab") || "active") === id) return;
  if (id === "active") url.searchParams.delete("tab");
  else url.searchParams.set("tab", id);
  window.history.replaceState(window.history.state, "", url);
}

// ---------------------------------------------------------------- active alerts

class ActiveSection {
  constructor(ctx) {
    this.ctx = ctx;
    this.alerts = [];
    this.forms = new Map(); // alert key -> {alert, node}: open silence forms survive refreshes
    this.state = el(
      "select",
      { "aria-label": "State", onchange: () => this.render() },
      el("option", { value: "" }, "Firing and pending"),
      el("option", { value: "firing" }, "Firing"),
      el("option", { value: "pending" }, "Pending"),
    );
    this.severity = el("select", { "aria-label": "Severity", onchange: () => this.render() });
    this.host = el("input", {
      type: "search",
      placeholder: "Host",
      "aria-label": "Host",
      oninput: () => this.render(),
    });
    this.status = el("p", { class: "mx-al-status", role: "status" });
    this.notice = el("p", { class: "mx-al-notice", role: "status" });
    this.list = el("div", { class: "mx-al-list" });
    this.root = el(
      "section",
      { class: "mx-al-section", "aria-label": "Active alerts" },
      el("div", { class: "mx-al-filters" }, this.state, this.severity, this.host),
      this.status,
      this.notice,
      this.list,
    );
    fillSeverities(this.severity, []);
  }

  async refresh() {
    try {
      const [rules, notifier] = await Promise.all([
        get("/api/v1/alerts"),
        get("/api/v2/alerts").catch(() => []),
      ]);
      this.alerts = joinNotifierState(rules?.alerts || [], Array.isArray(notifier) ? notifier : []);
      this.error = null;
    } catch (err) {
      this.error = err;
    }
    this.render();
  }

  tick() {
    this.render();
  }

  render() {
    fillSeverities(this.severity, this.alerts.map((a) => a.labels.severity));
    const state = this.state.value;
    const severity = this.severity.value;
    const host = this.host.value.trim().toLowerCase();
    const shown = this.alerts
      .filter((a) => !state || a.state === state)
      .filter((a) => !severity || (a.labels.severity || "") === severity)
      .filter((a) => !host || (a.labels.instance || "").toLowerCase().includes(host))
      .sort(bySeverityThenTime);
    const firing = this.alerts.filter((a) => a.state === "firing").length;
    replace(
      this.status,
      this.error
        ? el("span", { class: "mx-al-error" }, `Alerts cannot be loaded: ${this.error.message}`)
        : `${firing} firing, ${this.alerts.length - firing} pending` +
            (shown.length !== this.alerts.length ? ` (${shown.length} shown)` : ""),
    );
    // An open form whose alert resolved stays, marked, until it is sent or cancelled.
    const active = new Set(this.alerts.map(alertKey));
    const orphans = [...this.forms.entries()].filter(([key]) => !active.has(key));
    keepingFocus(() =>
      replace(
        this.list,
        shown.length || orphans.length ? null : el("p", { class: "mx-al-empty" }, "No active alerts."),
        shown.map((a) => this.card(a)),
        orphans.map(([, { alert }]) => this.card(alert, true)),
      ),
    );
  }

  card(alert, gone = false) {
    const labels = alert.labels;
    const key = alertKey(alert);
    const severity = labels.severity || "";
    const extra = Object.entries(labels).filter(
      ([k]) => !["alertname", "instance", "severity"].includes(k),
    );
    const suppressed = alert.silencedBy?.length || alert.inhibitedBy?.length;
    const open = this.forms.get(key);
    return el(
      "article",
      {
        class: `mx-al-card mx-al-sev-${cssToken(severity)}${suppressed ? " mx-al-suppressed" : ""}`,
        "data-alertname": labels.alertname || "",
        "data-state": alert.state,
      },
      el(
        "header",
        { class: "mx-al-card-head" },
        severity ? el("span", { class: "mx-al-badge mx-al-severity" }, severity) : null,
        el("strong", { class: "mx-al-name" }, labels.alertname || "(no name)"),
        el("span", { class: `mx-al-badge mx-al-state-${cssToken(alert.state)}` }, alert.state),
        alert.silencedBy?.length
          ? el("span", { class: "mx-al-badge mx-al-silenced", title: alert.silencedBy.join(", ") }, "silenced")
          : null,
        alert.inhibitedBy?.length
          ? el("span", { class: "mx-al-badge mx-al-silenced", title: alert.inhibitedBy.join(", ") }, "inhibited")
          : null,
        gone ? el("span", { class: "mx-al-badge" }, "no longer active") : null,
      ),
      labels.instance ? hostLink(labels.instance, this.ctx) : null,
      alert.annotations?.summary ? el("p", { class: "mx-al-summary" }, alert.annotations.summary) : null,
      el(
        "p",
        { class: "mx-al-meta" },
        alert.activeAt ? timeText(alert.activeAt, `${alert.state} for `, true) : null,
        alert.value !== undefined && alert.value !== null ? ` · value ${formatValue(alert.value)}` : null,
      ),
      extra.length
        ? el("ul", { class: "mx-al-labels" }, extra.map(([k, v]) => el("li", {}, `${k}="${v}"`)))
        : null,
      open
        ? open.node
        : el("button", { type: "button", class: "mx-al-action", onclick: () => this.openForm(alert) }, "Silence…"),
    );
  }

  openForm(alert) {
    const key = alertKey(alert);
    const close = () => {
      this.forms.delete(key);
      this.render();
    };
    const done = async (id) => {
      this.forms.delete(key);
      replace(this.notice, `Silence ${id} created.`);
      await this.refresh();
    };
    replace(this.notice);
    this.forms.set(key, { alert, node: silenceForm(alert, close, done) });
    this.render();
    this.forms.get(key).node.querySelector("input")?.focus();
  }
}

/** The rule alerts of /api/v1/alerts with the notifier's silencedBy and inhibitedBy. */
function joinNotifierState(alerts, notifier) {
  const byName = new Map();
  for (const n of notifier) {
    const name = n?.labels?.alertname || "";
    if (!byName.has(name)) byName.set(name, []);
    byName.get(name).push(n);
  }
  return alerts.map((a) => {
    const labels = a.labels || {};
    const match = (byName.get(labels.alertname || "") || []).find((n) =>
      Object.entries(labels).every(([k, v]) => n.labels[k] === v),
    );
    return {
      ...a,
      labels,
      silencedBy: match?.status?.silencedBy || [],
      inhibitedBy: match?.status?.inhibitedBy || [],
    };
  });
}

function bySeverityThenTime(a, b) {
  const rank = (x) => SEVERITY_RANK[x.labels.severity] ?? (x.labels.severity ? 4 : 5);
  return rank(a) - rank(b) || Date.parse(b.activeAt || 0) - Date.parse(a.activeAt || 0);
}

function alertKey(alert) {
  return JSON.stringify(Object.entries(alert.labels || {}).sort());
}

function fillSeverities(select, seen) {
  const values = [...new Set(["critical", "warning", "info", ...seen.filter(Boolean)])];
  const current = select.value;
  if (select.options.length === values.length + 1) return;
  replace(
    select,
    el("option", { value: "" }, "Any severity"),
    values.map((v) => el("option", { value: v }, v)),
  );
  select.value = current;
}

/** The inline form that silences one alert: matchers, duration, creator, comment. */
function silenceForm(alert, onCancel, onCreated) {
  const rows = el("div", { class: "mx-al-matchers" });
  const addRow = (name = "", value = "", op = "=") => {
    const opSelect = el("select", { "aria-label": "Operator" }, ["=", "!=", "=~", "!~"].map((o) => el("option", { value: o }, o)));
    opSelect.value = op;
    const row = el(
      "div",
      { class: "mx-al-matcher" },
      el("input", { value: name, "aria-label": "Label name", placeholder: "label", name: "matcher-name" }),
      opSelect,
      el("input", { value, "aria-label": "Label value", placeholder: "value", name: "matcher-value" }),
      el("button", { type: "button", class: "mx-al-link", "aria-label": "Remove matcher", onclick: () => row.remove() }, "×"),
    );
    rows.append(row);
  };
  addRow("alertname", alert.labels.alertname || "");
  if (alert.labels.instance !== undefined) addRow("instance", alert.labels.instance);

  const duration = el("select", { name: "duration", "aria-label": "Duration" },
    DURATIONS.map((d) => el("option", { value: d }, d)), el("option", { value: "custom" }, "custom"));
  duration.value = "1h";
  const custom = el("input", { name: "custom-duration", placeholder: "e.g. 2h30m", "aria-label": "Custom duration", hidden: true });
  duration.addEventListener("change", () => {
    custom.hidden = duration.value !== "custom";
  });
  const createdBy = el("input", { name: "createdBy", required: true, value: rememberedCreator() });
  const comment = el("input", { name: "comment", required: true });
  const error = el("p", { class: "mx-al-error", role: "alert" });
  const submit = el("button", { type: "submit", class: "mx-al-primary" }, "Create silence");

  const form = el(
    "form",
    { class: "mx-al-form", "aria-label": "Silence" },
    el("fieldset", {}, el("legend", {}, "Matchers"), rows,
      el("button", { type: "button", class: "mx-al-link", onclick: () => addRow() }, "+ matcher")),
    field("Duration", el("span", { class: "mx-al-inline" }, duration, custom)),
    field("Created by", createdBy),
    field("Comment", comment),
    error,
    el("div", { class: "mx-al-buttons" }, submit,
      el("button", { type: "button", onclick: onCancel }, "Cancel")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(error);
    const seconds = parseDuration(duration.value === "custom" ? custom.value : duration.value);
    if (!seconds) {
      replace(error, "The duration is not valid (such as 30m, 2h or 1d12h).");
      return;
    }
    const matchers = [...rows.children].map((row) => {
      const [name, op, value] = row.querySelectorAll("input, select");
      return { name: name.value.trim(), value: value.value, isRegex: op.value.includes("~"), isEqual: !op.value.startsWith("!") };
    });
    const now = Date.now();
    submit.disabled = true;
    try {
      const answer = await send("POST", "/api/v2/silences", {
        matchers,
        startsAt: new Date(now).toISOString(),
        endsAt: new Date(now + seconds * 1000).toISOString(),
        createdBy: createdBy.value.trim(),
        comment: comment.value.trim(),
      });
      rememberCreator(createdBy.value.trim());
      await onCreated(answer?.silenceID || "");
    } catch (err) {
      replace(error, errorText(err));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function rememberedCreator() {
  try {
    return window.localStorage.getItem("multimonx.silence.createdBy") || "";
  } catch {
    return "";
  }
}

function rememberCreator(name) {
  try {
    window.localStorage.setItem("multimonx.silence.createdBy", name);
  } catch {
    // Storage may be off (private mode): the creator is then typed each time.
  }
}

// ---------------------------------------------------------------- silences

class SilencesSection {
  constructor() {
    this.silences = [];
    this.status = el("p", { class: "mx-al-status", role: "status" });
    this.current = el("div", { class: "mx-al-list" });
    this.expiredList = el("div", { class: "mx-al-list" });
    this.expiredTitle = el("summary", {}, "Expired");
    this.expired = el("details", { class: "mx-al-expired" }, this.expiredTitle, this.expiredList);
    this.root = el("section", { class: "mx-al-section", "aria-label": "Silences" }, this.status, this.current, this.expired);
  }

  async refresh() {
    try {
      const answer = await get("/api/v2/silences");
      this.silences = Array.isArray(answer) ? answer : [];
      this.error = null;
    } catch (err) {
      this.error = err;
    }
    this.render();
  }

  tick() {
    this.render();
  }

  render() {
    const live = this.silences
      .filter((s) => s.status?.state !== "expired")
      .sort((a, b) => Date.parse(a.endsAt) - Date.parse(b.endsAt));
    const expired = this.silences
      .filter((s) => s.status?.state === "expired")
      .sort((a, b) => Date.parse(b.endsAt) - Date.parse(a.endsAt));
    replace(
      this.status,
      this.error
        ? el("span", { class: "mx-al-error" }, `Silences cannot be loaded: ${this.error.message}`)
        : `${live.length} active or pending, ${expired.length} expired`,
    );
    replace(this.current, live.length ? live.map((s) => this.card(s)) : el("p", { class: "mx-al-empty" }, "No active silences."));
    replace(this.expiredTitle, `Expired (${expired.length})`);
    replace(this.expiredList, expired.map((s) => this.card(s)));
    this.expired.hidden = !expired.length;
  }

  card(silence) {
    const state = silence.status?.state || "";
    const error = el("p", { class: "mx-al-error", role: "alert" });
    const expire = async (event) => {
      event.target.disabled = true;
      try {
        await send("DELETE", `/api/v2/silence/${encodeURIComponent(silence.id)}`);
        await this.refresh();
      } catch (err) {
        replace(error, errorText(err));
        event.target.disabled = false;
      }
    };
    return el(
      "article",
      { class: `mx-al-card mx-al-silence mx-al-state-${cssToken(state)}`, "data-silence-id": silence.id },
      el("header", { class: "mx-al-card-head" },
        el("span", { class: `mx-al-badge mx-al-state-${cssToken(state)}` }, state),
        el("ul", { class: "mx-al-labels" }, (silence.matchers || []).map((m) => el("li", {}, matcherText(m))))),
      el("p", { class: "mx-al-meta" },
        timeText(silence.startsAt, state === "pending" ? "starts " : "started "), " · ",
        timeText(silence.endsAt, state === "expired" ? "ended " : "ends ")),
      el("p", { class: "mx-al-meta" }, `by ${silence.createdBy || "?"}`, silence.comment ? `: ${silence.comment}` : ""),
      state !== "expired" ? el("button", { type: "button", class: "mx-al-action", onclick: expire }, "Expire") : null,
      error,
    );
  }
}

function matcherText(m) {
  const op = (m.isEqual === false ? "!" : "=") + (m.isRegex ? "~" : m.isEqual === false ? "=" : "");
  return `${m.name}${op}"${m.value}"`;
}

// ---------------------------------------------------------------- history

class HistorySection {
  constructor(ctx, params) {
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
    this.status = el("p", { class: "mx-al-status", role: "status" });
    this.body = el("tbody");
    this.moreButton = el("button", { type: "button", class: "mx-al-action", onclick: () => this.loadMore() }, "Load more");
    this.root = el("section", { class: "mx-al-section", "aria-label": "History" },
      el("div", { class: "mx-al-filters" }, this.range, this.state, this.host, this.rule, this.severity),
      this.status,
      el("div", { class: "mx-al-scroll" }, (this.table = el("table", { class: "mx-al-table" },
        el("thead", {}, el("tr", {}, ["Time", "State", "Alert", "Instance", "Severity", "Summary", "Value"].map((h) => el("th", { scope: "col" }, h)))),
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
  async refresh() {
    const { start, end } = this.window();
    const limit = Math.min(10000, Math.max(HISTORY_PAGE, this.events.length));
    try {
      const events = await this.fetch({ start, end, limit });
      this.events = events;
      this.more = events.length >= limit;
      this.error = null;
    } catch (err) {
      this.error = err;
    }
    this.render();
  }

  async reload() {
    this.events = [];
    await this.refresh();
  }

  reloadSoon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reload(), 300);
  }

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
    replace(this.status, this.error
      ? el("span", { class: "mx-al-error" }, `History cannot be loaded: ${this.error.message}`)
      : `${this.events.length} event${this.events.length === 1 ? "" : "s"}`);
    replace(this.body, this.events.map((e) => {
      const labels = e.labels || {};
      return el("tr", { class: `mx-al-state-${cssToken(e.state)}` },
        el("td", { title: e.time }, formatTime(e.time)),
        el("td", {}, el("span", { class: `mx-al-badge mx-al-state-${cssToken(e.state)}` }, e.state)),
        el("td", {}, e.alertname || labels.alertname || ""),
        el("td", {}, labels.instance || ""),
        el("td", {}, labels.severity || ""),
        el("td", {}, e.annotations?.summary || ""),
        el("td", { class: "mx-al-num" }, e.value === null || e.value === undefined ? "" : formatValue(e.value)));
    }));
    labelCells(this.table);
    this.moreButton.hidden = !this.more;
  }

  unmount() {
    clearTimeout(this.timer);
  }
}

function eventKey(e) {
  return `${e.time}|${e.state}|${JSON.stringify(Object.entries(e.labels || {}).sort())}`;
}

// ---------------------------------------------------------------- rules

class RulesSection {
  constructor() {
    this.groups = [];
    this.apiRules = [];
    this.catalog = null;
    this.status = el("p", { class: "mx-al-status", role: "status" });
    this.apiList = el("div", { class: "mx-al-scroll" });
    this.groupList = el("div", {});
    this.form = new RuleForm(() => this.refresh());
    this.root = el("section", { class: "mx-al-section", "aria-label": "Rules" },
      this.status,
      el("details", { class: "mx-al-new-rule" }, el("summary", {}, "New threshold rule"), this.form.root),
      el("h2", {}, "Rules of the REST API"),
      this.apiList,
      this.groupList);
  }

  async refresh() {
    if (!this.catalog) {
      this.catalog = get("/api/v1/metrics/catalog").then((c) => this.form.setCatalog(c || []), () => this.form.setCatalog([]));
    }
    try {
      const [rules, apiRules] = await Promise.all([get("/api/v1/rules"), get("/api/v1/alerts/rules")]);
      this.groups = rules?.groups || [];
      this.apiRules = Array.isArray(apiRules) ? apiRules : [];
      this.error = null;
    } catch (err) {
      this.error = err;
    }
    this.render();
  }

  render() {
    replace(this.status, this.error
      ? el("span", { class: "mx-al-error" }, `Rules cannot be loaded: ${this.error.message}`)
      : `${this.groups.reduce((n, g) => n + (g.rules || []).length, 0)} rules evaluated in ${this.groups.length} groups`);
    const evaluated = new Map();
    for (const g of this.groups.filter((g) => g.file === "api")) {
      for (const r of g.rules || []) evaluated.set(r.name, r);
    }
    replace(this.apiList, this.apiRules.length
      ? labelCells(el("table", { class: "mx-al-table mx-al-rules" },
        el("thead", {}, el("tr", {}, ["Enabled", "Name", "State", "Health", "Severity", "Query", ""].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, this.apiRules.map((r) => this.apiRow(r, evaluated.get(r.name))))))
      : el("p", { class: "mx-al-empty" }, "No rule was created through the API yet."));
    replace(this.groupList, this.groups.filter((g) => g.file !== "api").map((g) =>
      el("div", { class: "mx-al-group" },
        el("h2", {}, g.name, " ", el("small", {}, g.file)),
        el("div", { class: "mx-al-scroll" }, labelCells(el("table", { class: "mx-al-table mx-al-rules" },
          el("thead", {}, el("tr", {}, ["Name", "State", "Health", "Last error", "Query"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, (g.rules || []).map((r) => el("tr", { "data-rule": r.name },
            el("td", {}, r.name),
            el("td", {}, r.state ? el("span", { class: `mx-al-badge mx-al-state-${cssToken(r.state)}` }, r.state) : r.type || ""),
            el("td", { class: `mx-al-health-${cssToken(r.health)}` }, r.health || ""),
            el("td", { class: "mx-al-last-error" }, r.lastError || ""),
            el("td", {}, el("code", {}, r.query || "")))))))))));
  }

  apiRow(rule, evaluated) {
    const error = el("span", { class: "mx-al-error", role: "alert" });
    const toggle = el("input", { type: "checkbox", checked: !!rule.enabled, "aria-label": `Enable ${rule.name}` });
    toggle.addEventListener("change", async () => {
      toggle.disabled = true;
      try {
        await send("PATCH", `/api/v1/alerts/rules/${encodeURIComponent(rule.id)}`, { enabled: toggle.checked });
        await this.refresh();
      } catch (err) {
        toggle.checked = !toggle.checked;
        toggle.disabled = false;
        replace(error, errorText(err));
      }
    });
    const remove = el("button", { type: "button", class: "mx-al-link" }, "Delete");
    remove.addEventListener("click", async () => {
      if (remove.dataset.confirm !== "yes") {
        remove.dataset.confirm = "yes";
        remove.textContent = "Really delete?";
        setTimeout(() => {
          remove.dataset.confirm = "";
          remove.textContent = "Delete";
        }, 5000);
        return;
      }
      remove.disabled = true;
      try {
        await send("DELETE", `/api/v1/alerts/rules/${encodeURIComponent(rule.id)}`);
        await this.refresh();
      } catch (err) {
        remove.disabled = false;
        replace(error, errorText(err));
      }
    });
    return el("tr", { "data-rule": rule.name, "data-rule-id": rule.id },
      el("td", {}, toggle),
      el("td", {}, rule.name, el("small", { class: "mx-al-kind" }, ` ${rule.kind}`)),
      el("td", {}, rule.enabled ? (evaluated?.state ? el("span", { class: `mx-al-badge mx-al-state-${cssToken(evaluated.state)}` }, evaluated.state) : "") : "disabled"),
      el("td", { class: `mx-al-health-${cssToken(evaluated?.health)}` }, rule.enabled ? evaluated?.health || "" : ""),
      el("td", {}, rule.severity || ""),
      el("td", {}, rule.error ? el("span", { class: "mx-al-error" }, rule.error) : el("code", {}, rule.query || ""),
        evaluated?.lastError ? el("div", { class: "mx-al-error" }, evaluated.lastError) : null),
      el("td", {}, remove, error));
  }
}

/** The "New threshold rule" form; a 400's `errors` map shows next to each field. */
class RuleForm {
  constructor(onCreated) {
    this.onCreated = onCreated;
    this.inputs = {
      name: el("input", { name: "name", required: true, placeholder: "DiskAlmostFull", autocomplete: "off" }),
      metric: el("select", { name: "metric" }, el("option", { value: "" }, "Loading the catalog…")),
      expr: el("input", { name: "expr", placeholder: "PromQL, e.g. node_load1", hidden: true }),
      operator: el("select", { name: "operator" }, OPERATORS.map((o) => el("option", { value: o }, o))),
      threshold: el("input", { name: "threshold", required: true, inputmode: "decimal", placeholder: "90" }),
      for: el("input", { name: "for", value: "5m", placeholder: "5m" }),
      severity: el("select", { name: "severity" }, ["critical", "warning", "info"].map((s) => el("option", { value: s }, s))),
      channels: el("input", { name: "channels", placeholder: "ops-slack, ops-mail" }),
      summary: el("input", { name: "summary", placeholder: "optional: a default names metric, host and value" }),
    };
    this.inputs.severity.value = "warning";
    this.inputs.metric.addEventListener("change", () => {
      this.inputs.expr.hidden = this.inputs.metric.value !== "__expr__";
    });
    this.errors = {};
    const row = (label, name, ...inputs) => {
      this.errors[name] = el("span", { class: "mx-al-field-error", role: "alert", "data-field": name });
      return field(label, el("span", { class: "mx-al-inline" }, inputs), this.errors[name]);
    };
    this.message = el("p", { class: "mx-al-status", role: "status" });
    this.submit = el("button", { type: "submit", class: "mx-al-primary" }, "Create rule");
    this.root = el("form", { class: "mx-al-form", "aria-label": "New threshold rule", novalidate: true },
      row("Name", "name", this.inputs.name),
      row("Metric", "metric", this.inputs.metric, this.inputs.expr),
      row("Condition", "threshold", this.inputs.operator, this.inputs.threshold),
      row("For", "for", this.inputs.for),
      row("Severity", "severity", this.inputs.severity),
      row("Channels", "channels", this.inputs.channels),
      row("Summary", "summary", this.inputs.summary),
      this.message,
      el("div", { class: "mx-al-buttons" }, this.submit));
    this.root.addEventListener("submit", (event) => {
      event.preventDefault();
      this.create();
    });
  }

  setCatalog(catalog) {
    const current = this.inputs.metric.value;
    replace(this.inputs.metric,
      catalog.map((m) => el("option", { value: m.name, title: m.description || "" }, m.unit ? `${m.name} (${m.unit})` : m.name)),
      el("option", { value: "__expr__" }, "PromQL expression…"));
    if (current) this.inputs.metric.value = current;
    this.inputs.expr.hidden = this.inputs.metric.value !== "__expr__";
  }

  body() {
    const v = (name) => this.inputs[name].value.trim();
    const threshold = v("threshold");
    const body = {
      kind: "threshold",
      name: v("name"),
      operator: v("operator"),
      // A number when it reads as one; otherwise the text, so the server names the problem.
      threshold: threshold !== "" && Number.isFinite(Number(threshold)) ? Number(threshold) : threshold,
      for: v("for") || "0s",
      severity: v("severity"),
      channels: v("channels").split(/[,\s]+/).filter(Boolean),
    };
    if (this.inputs.metric.value === "__expr__") body.expr = v("expr");
    else body.metric = this.inputs.metric.value;
    if (v("summary")) body.annotations = { summary: v("summary") };
    return body;
  }

  async create() {
    for (const node of Object.values(this.errors)) replace(node);
    replace(this.message);
    this.submit.disabled = true;
    try {
      const rule = await send("POST", "/api/v1/alerts/rules", this.body());
      this.root.reset();
      this.inputs.severity.value = "warning";
      this.inputs.for.value = "5m";
      this.inputs.expr.hidden = this.inputs.metric.value !== "__expr__";
      replace(this.message, `Rule ${rule?.name || ""} created.`);
      await this.onCreated();
    } catch (err) {
      const errors = err instanceof ApiError && err.body && typeof err.body.errors === "object" ? err.body.errors : {};
      const unplaced = [];
      for (const [name, text] of Object.entries(errors || {})) {
        const target = this.errors[FIELD_OF_ERROR[name] || name] || (name.startsWith("annotations") ? this.errors.summary : null);
        if (target) append(target, [target.textContent ? "; " : "", String(text)]);
        else unplaced.push(`${name}: ${text}`);
      }
      replace(this.message, el("span", { class: "mx-al-error" },
        Object.keys(errors || {}).length ? unplaced.join("; ") || "The rule has problems: see the fields above." : errorText(err)));
    } finally {
      this.submit.disabled = false;
    }
  }
}

// ---------------------------------------------------------------- shared pieces

function field(label, control, error = null) {
  return el("label", { class: "mx-al-field" }, el("span", { class: "mx-al-label" }, label), control, error);
}

function hostLink(instance, ctx) {
  const href = `/hosts/${encodeURIComponent(instance)}`;
  return el("a", {
    class: "mx-al-host",
    href,
    onclick: (event) => {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      if (typeof ctx.navigate !== "function") return;
      event.preventDefault();
      ctx.navigate(href);
    },
  }, instance);
}

/** Name each cell after its column (`data-label`), for the one-column layout of a phone. */
function labelCells(table) {
  const heads = [...(table.tHead?.rows[0]?.cells || [])].map((th) => th.textContent.replace(/[▲▼]/g, "").trim());
  for (const body of table.tBodies) {
    for (const row of body.rows) [...row.cells].forEach((td, i) => td.setAttribute("data-label", heads[i] ?? ""));
  }
  return table;
}

/** The server's own words for a failure: Alertmanager's API answers errors as a bare JSON string. */
function errorText(err) {
  if (!(err instanceof ApiError) || !err.status) return err?.message || String(err);
  const text = typeof err.body === "string" && err.body.trim() ? err.body.trim() : err.message;
  return `${text} (HTTP ${err.status})`;
}

function cssToken(text) {
  return String(text || "none").toLowerCase().replace(/[^a-z0-9_-]/g, "_");
}

/** Keep the focused control and the scroll position across a re-render (sync or async). */
async function keepingFocus(render) {
  const focused = document.activeElement;
  let selection = null;
  try {
    selection = focused && "selectionStart" in focused ? [focused.selectionStart, focused.selectionEnd] : null;
  } catch {
    // selectionStart throws on some input types.
  }
  const x = window.scrollX;
  const y = window.scrollY;
  const pending = render();
  if (pending instanceof Promise) await pending;
  restore(focused, selection, x, y);
}

function restore(focused, selection, x, y) {
  if (focused && focused !== document.activeElement && focused.isConnected) {
    focused.focus({ preventScroll: true });
    if (selection && selection[0] !== null) {
      try {
        focused.setSelectionRange(selection[0], selection[1]);
      } catch {
        // Some inputs (number, email) have no selection.
      }
    }
  }
  if (window.scrollX !== x || window.scrollY !== y) window.scrollTo(x, y);
}

/** "5m", "1h30m", "1d", "90s" or plain seconds → seconds; 0 when not a duration. */
function parseDuration(text) {
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

function formatValue(value) {
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  if (n !== 0 && (Math.abs(n) >= 1e6 || Math.abs(n) < 1e-3)) return n.toExponential(2);
  return String(Number(n.toPrecision(4)));
}

function formatTime(iso) {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return String(iso || "");
  return t.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

/** "since 5 min ago" with the absolute time on hover. */
function timeText(iso, prefix = "", bare = false) {
  return el("time", { datetime: iso || "", title: formatTime(iso) }, prefix + relativeTime(iso, bare));
}

/** "5 min ago" / "in 55 min", or only "5 min" when `bare`. */
function relativeTime(iso, bare = false) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "?";
  const seconds = Math.round((t - Date.now()) / 1000);
  const abs = Math.abs(seconds);
  const text = abs < 60 ? `${abs} s` : abs < 3600 ? `${Math.floor(abs / 60)} min`
    : abs < 86400 ? `${Math.floor(abs / 3600)} h ${Math.floor((abs % 3600) / 60)} min`
      : `${Math.floor(abs / 86400)} d ${Math.floor((abs % 86400) / 3600)} h`;
  if (bare) return text;
  return seconds > 0 ? `in ${text}` : `${text} ago`;
}
