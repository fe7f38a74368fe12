// Requests to the API with the session: the cookie goes by itself (same
// origin; HttpOnly, so scripts never see it), and every change carries the
// session's CSRF token, kept in localStorage so a reload, or a queue resent
// after one, can still act. A network failure rejects; an HTTP answer never does.

const CSRF_KEY = (cid) => `commtwin.app.csrf.${cid}`;

export class Api {
  constructor(cid, storage = globalThis.localStorage) {
    this.cid = cid;
    this.storage = storage;
  }

  get csrf() {
    return this.storage.getItem(CSRF_KEY(this.cid));
  }

  set csrf(token) {
    if (token) this.storage.setItem(CSRF_KEY(this.cid), token);
    else this.storage.removeItem(CSRF_KEY(this.cid));
  }

  /** `{status, body, headers}`; `json` or `form` (FormData) as the body. */
  async request(method, path, { json, form, headers = {}, timeoutMs = 15000 } = {}) {
    const h = { Accept: "application/json", ...headers };
    let body;
    if (json !== undefined) {
      h["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    } else if (form !== undefined) {
      body = form;
    }
    if (method !== "GET" && this.csrf) h["X-CSRF-Token"] = this.csrf;
    const response = await fetch(path, {
      method,
      headers: h,
      body,
      credentials: "same-origin",
      cache: "no-store",
      signal: AbortSignal.timeout(timeoutMs),
    });
    const type = response.headers.get("content-type") ?? "";
    const data = type.includes("json") ? await response.json().catch(() => null) : null;
    return { status: response.status, body: data, headers: response.headers };
  }

  get(path) {
    return this.request("GET", path);
  }

  post(path, json) {
    return this.request("POST", path, { json });
  }

  async signIn(login, password) {
    const r = await this.post("/v1/session", { community: this.cid, login, password });
    if (r.status === 201) this.csrf = r.body.csrf_token;
    return r;
  }

  async join(code, login, password) {
    const r = await this.post("/v1/session/join", { community: this.cid, code, login, password });
    if (r.status === 201) this.csrf = r.body.csrf_token;
    return r;
  }

  async signOut() {
    try {
      await this.request("DELETE", "/v1/session");
    } finally {
      this.csrf = null;
    }
  }
}

/** How one queued item is sent (the queue's `send`). */
export function sender(api) {
  return (item, incident) => {
    if (item.kind === "report") {
      return api.post("/v1/me/incidents", { client_id: item.client_id, ...item.body });
    }
    const base = `/v1/me/incidents/${encodeURIComponent(incident)}`;
    if (item.kind === "action") {
      return api.post(`${base}/actions`, { client_id: item.client_id, ...item.body });
    }
    const form = new FormData();
    form.append("client_id", item.client_id);
    form.append("file", item.blob, item.filename || "photo.jpg");
    return api.request("POST", `${base}/photos`, { form, timeoutMs: 60000 });
  };
}
