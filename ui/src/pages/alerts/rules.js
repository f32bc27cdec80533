// The Alerts page's "Rules" tab: the rules created through the REST API (enable, disable,
// delete; /api/v1/alerts/rules) with their evaluation state, every rule group the server
// evaluates (/api/v1/rules), and the form that creates a threshold rule.

import { el, append, labelCells, replace } from "../../dom.js";
import { get, send, ApiError } from "../../api.js";
import { Section, columnHeads, cssToken, errorText, field, stateBadge } from "./common.js";

const OPERATORS = [">", ">=", "<", "<=", "==", "!="];
/** Where a field of the rules API's `errors` map shows in the form when it has no row. */
const FIELD_OF_ERROR = { expr: "metric", operator: "threshold" };

/** The "Rules" tab. The metric catalog for the form is fetched once, with the first load. */
export class RulesSection extends Section {
  constructor() {
    super("Rules");
    this.groups = [];
    this.apiRules = [];
    this.catalog = null;
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

  async load() {
    if (!this.catalog) {
      this.catalog = get("/api/v1/metrics/catalog").then((c) => this.form.setCatalog(c || []), () => this.form.setCatalog([]));
    }
    const [rules, apiRules] = await Promise.all([get("/api/v1/rules"), get("/api/v1/alerts/rules")]);
    this.groups = rules?.groups || [];
    this.apiRules = Array.isArray(apiRules) ? apiRules : [];
  }

  render() {
    this.showStatus(`${this.groups.reduce((n, g) => n + (g.rules || []).length, 0)} rules evaluated in ${this.groups.length} groups`);
    const evaluated = new Map();
    for (const g of this.groups.filter((g) => g.file === "api")) {
      for (const r of g.rules || []) evaluated.set(r.name, r);
    }
    replace(this.apiList, this.apiRules.length
      ? labelCells(el("table", { class: "mx-al-table mx-al-rules" },
        columnHeads(["Enabled", "Name", "State", "Health", "Severity", "Query", ""]),
        el("tbody", {}, this.apiRules.map((r) => this.apiRow(r, evaluated.get(r.name))))))
      : el("p", { class: "mx-al-empty" }, "No rule was created through the API yet."));
    replace(this.groupList, this.groups.filter((g) => g.file !== "api").map((g) =>
      el("div", { class: "mx-al-group" },
        el("h2", {}, g.name, " ", el("small", {}, g.file)),
        el("div", { class: "mx-al-scroll" }, labelCells(el("table", { class: "mx-al-table mx-al-rules" },
          columnHeads(["Name", "State", "Health", "Last error", "Query"]),
          el("tbody", {}, (g.rules || []).map((r) => el("tr", { "data-rule": r.name },
            el("td", {}, r.name),
            el("td", {}, r.state ? stateBadge(r.state) : r.type || ""),
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
      el("td", {}, rule.enabled ? (evaluated?.state ? stateBadge(evaluated.state) : "") : "disabled"),
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
