// What the Alerts page's tabs share: the Section base (load, keep the load error, render, the
// status line), small DOM builders (form field, host link, state badge, table head), the
// server's error text, and keeping focus and scroll across a re-render.

import { el, replace } from "../../dom.js";
import { ApiError } from "../../api.js";
import { formatLocaleTime, formatRelativeTime } from "../../format.js";

/**
 * A tab of the Alerts page. A subclass builds `root` (with `status` in it), loads its data in
 * `load()` and draws it in `render()`. `noun` names the data in the status line's error
 * ("Silences cannot be loaded: …").
 */
export class Section {
  constructor(noun) {
    this.noun = noun;
    this.error = null;
    this.status = el("p", { class: "mx-al-status", role: "status" });
  }

  /** Load and render; a failed load keeps the data from before and shows its error. */
  async refresh() {
    try {
      await this.load();
      this.error = null;
    } catch (err) {
      this.error = err;
    }
    this.render();
  }

  /** The status line: the load error while there is one, otherwise `text`. */
  showStatus(text) {
    replace(
      this.status,
      this.error ? el("span", { class: "mx-al-error" }, `${this.noun} cannot be loaded: ${this.error.message}`) : text,
    );
  }
}

/** A labelled form control, with the field's error message after it. */
export function field(label, control, error = null) {
  return el("label", { class: "mx-al-field" }, el("span", { class: "mx-al-label" }, label), control, error);
}

/** A link to the host page of `instance`, followed without a page load through the shell. */
export function hostLink(instance, ctx) {
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

/** The badge of an alert, rule or silence state ("firing", "pending", "active", …). */
export function stateBadge(state) {
  return el("span", { class: `mx-al-badge mx-al-state-${cssToken(state)}` }, state);
}

/** A table's head row of column titles. */
export function columnHeads(titles) {
  return el("thead", {}, el("tr", {}, titles.map((h) => el("th", { scope: "col" }, h))));
}

/** The server's own words for a failure: Alertmanager's API answers errors as a bare JSON string. */
export function errorText(err) {
  if (!(err instanceof ApiError) || !err.status) return err?.message || String(err);
  const text = typeof err.body === "string" && err.body.trim() ? err.body.trim() : err.message;
  return `${text} (HTTP ${err.status})`;
}

/** A server word (state, health, severity) as a safe part of a CSS class name. */
export function cssToken(text) {
  return String(text || "none").toLowerCase().replace(/[^a-z0-9_-]/g, "_");
}

/** "since 5 min ago" with the absolute time on hover; only "5 min" after `prefix` when `bare`. */
export function timeText(iso, prefix = "", bare = false) {
  return el("time", { datetime: iso || "", title: formatLocaleTime(iso) }, prefix + formatRelativeTime(iso, bare));
}

/** Keep the focused control and the scroll position across a re-render (sync or async). */
export async function keepingFocus(render) {
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
