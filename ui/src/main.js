// The dashboard's shell: header (product name, navigation, host selector, range buttons,
// auto-refresh), a router over the History API, and the life cycle of the page modules
// (contract in pages/README.md): mount on navigation, refresh every 10 s unless paused,
// unmount before the next page.

import { getShared } from "./api.js";
import { el, replace } from "./dom.js";
import { RANGES, windowOf } from "./timerange.js";
import * as overview from "./pages/overview.js";
import * as host from "./pages/host.js";
import * as alerts from "./pages/alerts.js";
import * as explore from "./pages/explore.js";
import * as agents from "./pages/agents.js";

const REFRESH_SECONDS = 10;

/** The routes: a path pattern, the page module, the parameter names of its groups. */
const ROUTES = [
  { name: "Overview", pattern: /^\/$/, page: overview, nav: "/" },
  { name: "Host", pattern: /^\/hosts\/([^/]+)\/?$/, page: host, keys: ["instance"] },
  { name: "Alerts", pattern: /^\/alerts\/?$/, page: alerts, nav: "/alerts" },
  { name: "Explore", pattern: /^\/explore\/?$/, page: explore, nav: "/explore" },
  { name: "Agents", pattern: /^\/agents\/?$/, page: agents, nav: "/agents" },
];

/** Which route a path is, with its parameters; null for an unknown path. */
function match(pathname) {
  for (const route of ROUTES) {
    const m = route.pattern.exec(pathname);
    if (!m) continue;
    const params = {};
    (route.keys || []).forEach((key, i) => {
      try {
        params[key] = decodeURIComponent(m[i + 1]);
      } catch {
        params[key] = m[i + 1];
      }
    });
    return { route, params };
  }
  return null;
}

/** A Unix time as the value of a datetime-local input (local time, minutes). */
function toLocalInput(unix) {
  const d = new Date(unix * 1000);
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 16);
}

class Shell {
  constructor(root) {
    this.root = root;
    this.handle = null;
    this.mountToken = 0;
    this.timer = null;
    this.refreshing = false;
    this.ctx = {
      navigate: (path) => this.navigate(path),
      range: "1h",
      from: undefined,
      to: undefined,
      window: () => windowOf(this.ctx),
      refreshSeconds: REFRESH_SECONDS,
      paused: false,
    };
    this.readRange(new URLSearchParams(window.location.search));
    this.build();
    window.addEventListener("popstate", () => {
      this.readRange(new URLSearchParams(window.location.search));
      this.show();
    });
    document.addEventListener("click", (event) => this.onClick(event));
    this.timer = setInterval(() => this.tick(), REFRESH_SECONDS * 1000);
  }

  /** Take the range selection from the URL's query (`range`, and `from`/`to` for custom). */
  readRange(query) {
    const range = query.get("range");
    const from = Number(query.get("from"));
    const to = Number(query.get("to"));
    if (range === "custom" && Number.isFinite(from) && Number.isFinite(to) && from < to) {
      Object.assign(this.ctx, { range, from, to });
    } else {
      Object.assign(this.ctx, { range: range in RANGES ? range : "1h", from: undefined, to: undefined });
    }
  }

  /** The range selection as query parameters ("" for the default, the last hour). */
  rangeQuery() {
    const { range, from, to } = this.ctx;
    if (range === "custom") return `range=custom&from=${Math.round(from)}&to=${Math.round(to)}`;
    return range === "1h" ? "" : `range=${range}`;
  }

  build() {
    this.navLinks = ROUTES.filter((r) => r.nav).map((r) =>
      el("a", { href: r.nav, class: "nav-link", "data-nav": r.name }, r.name),
    );
    this.hostSelect = el("select", {
      class: "host-select",
      "aria-label": "Host",
      onchange: () => this.navigate(`/hosts/${encodeURIComponent(this.hostSelect.value)}`),
    });
    this.hostBox = el("label", { class: "host-box", hidden: true }, this.hostSelect);
    this.rangeButtons = Object.keys(RANGES).map((key) =>
      el("button", { type: "button", class: "range-btn", "data-range": key, onclick: () => this.setRange(key) }, key),
    );
    this.customButton = el(
      "button",
      { type: "button", class: "range-btn", "data-range": "custom", onclick: () => this.toggleCustom() },
      "Custom",
    );
    this.fromInput = el("input", { type: "datetime-local", "aria-label": "From" });
    this.toInput = el("input", { type: "datetime-local", "aria-label": "To" });
    this.customError = el("span", { class: "error", role: "alert" });
    this.customForm = el(
      "form",
      { class: "custom-range", hidden: true, onsubmit: (e) => this.applyCustom(e) },
      el("label", {}, "From ", this.fromInput),
      el("label", {}, "To ", this.toInput),
      el("button", { type: "submit" }, "Apply"),
      this.customError,
    );
    this.refreshBox = el("input", {
      type: "checkbox",
      checked: true,
      onchange: () => this.setPaused(!this.refreshBox.checked),
    });
    const refreshToggle = el(
      "label",
      { class: "refresh-toggle", title: `Refresh every ${REFRESH_SECONDS} s` },
      this.refreshBox,
      ` Auto ${REFRESH_SECONDS}s`,
    );
    const header = el(
      "header",
      { class: "shell-header" },
      el("a", { href: "/", class: "brand" }, "MultiMonX"),
      el("nav", { class: "nav" }, this.navLinks),
      el(
        "div",
        { class: "toolbar" },
        this.hostBox,
        el("div", { class: "ranges", role: "group", "aria-label": "Time range" }, this.rangeButtons, this.customButton),
        refreshToggle,
      ),
      this.customForm,
    );
    this.main = el("main", { class: "shell-main" });
    replace(this.root, header, this.main);
  }

  /** Follow same-origin links to known routes without a page load. */
  onClick(event) {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest?.("a[href]");
    if (!link || link.target || link.hasAttribute("download")) return;
    const url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin || !match(url.pathname)) return;
    event.preventDefault();
    this.navigate(url.pathname + url.search);
  }

  /** Show `path`, keeping the range selection unless the path names one. */
  navigate(path) {
    const url = new URL(path, window.location.origin);
    if (url.searchParams.has("range")) this.readRange(url.searchParams);
    else if (this.rangeQuery()) url.search = url.search ? `${url.search}&${this.rangeQuery()}` : this.rangeQuery();
    window.history.pushState(null, "", url.pathname + url.search + url.hash);
    this.show();
  }

  /** Put the range selection into the current URL (no new history entry). */
  writeRange() {
    const query = new URLSearchParams(window.location.search);
    for (const key of ["range", "from", "to"]) query.delete(key);
    const rest = query.toString();
    const search = [rest, this.rangeQuery()].filter(Boolean).join("&");
    const url = window.location.pathname + (search ? `?${search}` : "");
    if (url !== window.location.pathname + window.location.search) window.history.replaceState(null, "", url);
    this.navLinks.forEach((a) => {
      const base = ROUTES.find((r) => r.name === a.dataset.nav).nav;
      a.href = this.rangeQuery() ? `${base}?${this.rangeQuery()}` : base;
    });
  }

  setRange(key) {
    Object.assign(this.ctx, { range: key, from: undefined, to: undefined });
    this.customForm.hidden = true;
    this.rangeChanged();
  }

  toggleCustom() {
    this.customForm.hidden = !this.customForm.hidden;
    if (!this.customForm.hidden) {
      const { start, end } = windowOf(this.ctx);
      this.fromInput.value = toLocalInput(start);
      this.toInput.value = toLocalInput(end);
      this.customError.textContent = "";
    }
  }

  applyCustom(event) {
    event.preventDefault();
    const from = new Date(this.fromInput.value).getTime() / 1000;
    const to = new Date(this.toInput.value).getTime() / 1000;
    if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) {
      this.customError.textContent = "From must be before To.";
      return;
    }
    Object.assign(this.ctx, { range: "custom", from, to });
    this.customForm.hidden = true;
    this.rangeChanged();
  }

  rangeChanged() {
    this.writeRange();
    this.markControls();
    this.refresh();
  }

  setPaused(paused) {
    this.ctx.paused = paused;
    this.refreshBox.checked = !paused;
    document.documentElement.dataset.paused = String(paused);
  }

  markControls() {
    for (const b of [...this.rangeButtons, this.customButton]) {
      b.setAttribute("aria-pressed", String(b.dataset.range === this.ctx.range));
    }
  }

  tick() {
    if (!this.ctx.paused && document.visibilityState !== "hidden") this.refresh();
  }

  /**
   * Ask the page for fresh data, one refresh at a time: a request during a refresh (a new
   * range) runs once that one ends. The page shows its own errors; the shell shows the rest.
   */
  async refresh() {
    const handle = this.handle;
    if (!handle) return;
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refreshing = true;
    try {
      do {
        this.again = false;
        await handle.refresh();
      } while (this.again && handle === this.handle);
    } catch (err) {
      if (handle === this.handle) this.showError(err);
    } finally {
      if (handle === this.handle) this.refreshing = false;
    }
  }

  showError(err) {
    const box = this.main.querySelector(":scope > .shell-error") || el("div", { class: "shell-error error", role: "alert" });
    box.textContent = `Error: ${err?.message || err}`;
    this.main.prepend(box);
  }

  /** Mount the page of the current URL (unmounting the previous one). */
  async show() {
    const token = ++this.mountToken;
    if (this.handle) {
      try {
        this.handle.unmount();
      } catch (err) {
        console.warn("unmount failed", err);
      }
    }
    this.handle = null;
    this.refreshing = false;
    this.again = false;
    this.writeRange();
    this.markControls();
    const found = match(window.location.pathname);
    this.navLinks.forEach((a) => a.setAttribute("aria-current", found && found.route.name === a.dataset.nav ? "page" : "false"));
    const container = el("div", { class: "page" });
    replace(this.main, container);
    if (!found) {
      document.title = "Not found · MultiMonX";
      replace(container, el("h1", {}, "Not found"), el("p", {}, "No page here. ", el("a", { href: "/" }, "Overview")));
      this.hostBox.hidden = true;
      return;
    }
    const { route, params } = found;
    document.title = `${route.name === "Host" ? params.instance : route.name} · MultiMonX`;
    this.hostBox.hidden = route.name !== "Host";
    if (route.name === "Host") this.fillHosts(params.instance);
    for (const [key, value] of new URLSearchParams(window.location.search)) {
      if (!(key in params)) params[key] = value;
    }
    try {
      const handle = await route.page.mount(container, params, this.ctx);
      if (token !== this.mountToken) {
        handle?.unmount();
        return;
      }
      this.handle = handle;
    } catch (err) {
      if (token === this.mountToken) replace(container, el("div", { class: "error", role: "alert" }, `Error: ${err?.message || err}`));
    }
  }

  /**
   * Fill the host selector from /api/v1/servers, `current` selected. The options (a
   * thousand for a large fleet) are built when the browser is idle, after the page's charts.
   */
  async fillHosts(current) {
    const token = this.mountToken;
    const select = this.hostSelect;
    replace(select, el("option", { value: current, selected: true }, current));
    try {
      const servers = await getShared("/api/v1/servers?metrics=false");
      await new Promise((resolve) => requestIdleCallback(resolve, { timeout: 1000 }));
      if (token !== this.mountToken) return; // another page since
      const names = servers.map((s) => s.instance);
      if (!names.includes(current)) names.unshift(current);
      replace(select, names.map((name) => el("option", { value: name, selected: name === current }, name)));
    } catch {
      // The host page shows the server's errors; the selector keeps the current host.
    }
  }
}

new Shell(document.getElementById("app")).show();
