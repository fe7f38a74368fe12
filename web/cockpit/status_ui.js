// The connection badge in the header and the overlays for "no access" and
// "key required". The page's state is also written to <body data-state>, so
// styles (and browser tests) can follow it.

import { saveKey } from "./api.js";
import { byId, setText } from "./dom.js";
import { t } from "./i18n.js";
import { formatDuration } from "./sla.js";

let current = { state: "loading", lastOkMs: null, cid: "" };

function render() {
  const { state, lastOkMs, cid } = current;
  document.body.dataset.state = state;
  const badge = byId("conn");
  badge.className = `conn conn-${state}`;
  setText(byId("conn-text"), t(`state.${state}`));
  const banner = byId("stale-banner");
  banner.hidden = state !== "stale";
  if (state === "stale") {
    const age = lastOkMs ? formatDuration(Date.now() - lastOkMs) : "–";
    setText(banner, t("state.stale_detail", { age }));
  }
  const overlay = byId("overlay");
  overlay.hidden = state !== "noaccess" && state !== "needkey";
  if (!overlay.hidden) {
    setText(byId("overlay-title"), t(`state.${state}`));
    setText(byId("overlay-detail"), t(`state.${state}_detail`, { cid }));
  }
}

/** Show a connection state: loading | live | stale | noaccess | needkey | nolive. */
export function showState(state, { lastOkMs = current.lastOkMs, cid = current.cid } = {}) {
  current = { state, lastOkMs, cid };
  render();
}

export function currentState() {
  return current.state;
}

/** Re-render texts (language switch) and the stale age (each second). */
export function refreshState() {
  render();
}

/** The key form of the overlay: saving a key reloads the page with it. */
export function wireKeyForm() {
  byId("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = byId("key-input").value.trim();
    if (!value) return;
    saveKey(localStorage, value);
    location.reload();
  });
  byId("key-forget").addEventListener("click", () => {
    saveKey(localStorage, null);
    showState("needkey");
  });
}
