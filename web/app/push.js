// "通知 / Notify me": Web Push while the page is closed (docs/people.md "Web Push").
// Offered only when the browser has PushManager and the server has a VAPID key
// (GET /v1/me/push answers 200). The subscription is this browser's; it is
// given back (DELETE) on sign-out so that the next person on the phone starts clean.

import { t } from "./i18n.js";

function keyBytes(base64url) {
  const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

export class PushButton {
  constructor(button, api, cid, { onError } = {}) {
    this.button = button;
    this.api = api;
    this.scope = `/app/${encodeURIComponent(cid)}`;
    this.onError = onError ?? (() => {});
    this.key = null;
    this.registration = null;
    button.addEventListener("click", () => this.toggle());
  }

  static supported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  /** After sign-in: show the button if push can work here. */
  async start() {
    this.button.hidden = true;
    if (!PushButton.supported()) return;
    try {
      const r = await this.api.get("/v1/me/push");
      if (r.status !== 200 || !r.body?.enabled) return; // Web Push is off on this server
      this.key = r.body.application_server_key;
      this.registration = await navigator.serviceWorker.register(`${this.scope}/sw.js`, {
        scope: this.scope,
      });
      await this.render();
    } catch {
      /* offline, or the worker would not register: no button */
    }
  }

  async current() {
    return this.registration ? this.registration.pushManager.getSubscription() : null;
  }

  async render() {
    const on = (await this.current()) !== null;
    this.button.dataset.i18n = on ? "push.off" : "push.on"; // relabelled on a language switch
    this.button.textContent = t(this.button.dataset.i18n);
    this.button.setAttribute("aria-pressed", on ? "true" : "false");
    this.button.hidden = false;
  }

  async toggle() {
    try {
      const existing = await this.current();
      if (existing) {
        await this.api.request("DELETE", `/v1/me/push?endpoint=${encodeURIComponent(existing.endpoint)}`);
        await existing.unsubscribe();
      } else {
        if ((await Notification.requestPermission()) !== "granted") {
          this.onError("push.denied");
          return;
        }
        const sub = await this.registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(this.key),
        });
        const r = await this.api.request("PUT", "/v1/me/push", { json: sub.toJSON() });
        if (r.status !== 204) {
          await sub.unsubscribe();
          this.onError("push.failed");
        }
      }
    } catch {
      this.onError("push.failed");
    }
    await this.render();
  }

  /** Before sign-out: this account stops being told on this browser. */
  async forget() {
    this.button.hidden = true;
    try {
      const existing = await this.current();
      if (existing) {
        await this.api.request("DELETE", `/v1/me/push?endpoint=${encodeURIComponent(existing.endpoint)}`);
        await existing.unsubscribe();
      }
    } catch {
      /* offline: the server forgets it when the push service answers 410 */
    }
  }
}
