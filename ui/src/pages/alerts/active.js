// The Alerts page's "Active" tab: firing and pending alerts from the rules (/api/v1/alerts)
// joined with the notifier's silenced and inhibited state (/api/v2/alerts), filtered by state,
// severity and host, each with an inline form that silences it.

import { el, replace } from "../../dom.js";
import { get, send } from "../../api.js";
import { formatAlertValue, parseDuration } from "../../format.js";
import { Section, cssToken, errorText, field, hostLink, keepingFocus, stateBadge, timeText } from "./common.js";

const SEVERITY_RANK = { critical: 0, error: 1, warning: 2, info: 3 };
const DURATIONS = ["15m", "1h", "4h", "1d"];

/** The "Active" tab. Open silence forms survive refreshes, even when their alert resolves. */
export class ActiveSection extends Section {
  constructor(ctx) {
    super("Alerts");
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

  async load() {
    const [rules, notifier] = await Promise.all([
      get("/api/v1/alerts"),
      get("/api/v2/alerts").catch(() => []),
    ]);
    this.alerts = joinNotifierState(rules?.alerts || [], Array.isArray(notifier) ? notifier : []);
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
    this.showStatus(
      `${firing} firing, ${this.alerts.length - firing} pending` +
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
        stateBadge(alert.state),
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
        alert.value !== undefined && alert.value !== null ? ` · value ${formatAlertValue(alert.value)}` : null,
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
