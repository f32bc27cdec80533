// The Alerts page's "Silences" tab: active and pending silences (soonest end first), each
// with an Expire button, and the expired ones in a collapsed list (latest end first).

import { el, replace } from "../../dom.js";
import { get, send } from "../../api.js";
import { Section, cssToken, errorText, stateBadge, timeText } from "./common.js";

/** The "Silences" tab, read from and expired through the notifier's /api/v2/silences. */
export class SilencesSection extends Section {
  constructor() {
    super("Silences");
    this.silences = [];
    this.current = el("div", { class: "mx-al-list" });
    this.expiredList = el("div", { class: "mx-al-list" });
    this.expiredTitle = el("summary", {}, "Expired");
    this.expired = el("details", { class: "mx-al-expired" }, this.expiredTitle, this.expiredList);
    this.root = el("section", { class: "mx-al-section", "aria-label": "Silences" }, this.status, this.current, this.expired);
  }

  async load() {
    const answer = await get("/api/v2/silences");
    this.silences = Array.isArray(answer) ? answer : [];
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
    this.showStatus(`${live.length} active or pending, ${expired.length} expired`);
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
        stateBadge(state),
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

/** A silence matcher as Alertmanager writes it: name="value", name!~"regex", … */
function matcherText(m) {
  const op = (m.isEqual === false ? "!" : "=") + (m.isRegex ? "~" : m.isEqual === false ? "=" : "");
  return `${m.name}${op}"${m.value}"`;
}
