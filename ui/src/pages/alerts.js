// The Alerts page (route /alerts): four tabs, one module each under ./alerts/ (active alerts
// with silencing, silences, alert history, rules). This module is the page entry: the tab
// shell, the open tab kept in the URL (`?tab=`), and the ticker that moves relative times on.
// Every label value and annotation reaches the DOM as text through ../dom.js.

import { el } from "../dom.js";
import { keepingFocus } from "./alerts/common.js";
import { ActiveSection } from "./alerts/active.js";
import { SilencesSection } from "./alerts/silences.js";
import { HistorySection } from "./alerts/history.js";
import { RulesSection } from "./alerts/rules.js";

const TABS = [
  ["active", "Active"],
  ["silences", "Silences"],
  ["history", "History"],
  ["rules", "Rules"],
];

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
