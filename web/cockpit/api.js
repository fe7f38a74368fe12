// The cockpit's view of the /v1 API: one community, one key.
// The key arrives once as ?key=..., is kept in localStorage and taken out of
// the address bar (so it is not bookmarked or shown on the big screen), and
// is sent as "Authorization: Bearer". Every request names this page's
// community only, so a key for another community can never pull its data in.

const KEY_STORAGE = "commtwin.key";
const TIMEOUT_MS = 5000;
// A city's buildings collection (thousands of footprints) may take longer on
// a busy or just-started API than a poll should; the page cannot draw without it.
const COLLECTION_TIMEOUT_MS = 30000;

export class ApiError extends Error {
  /** status 0 = network failure or timeout (the API is unreachable). */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Take ?key= from the address (then drop it from there), else the saved key. */
export function takeKey(location, history, storage) {
  const url = new URL(location.href);
  const given = url.searchParams.get("key");
  if (given) {
    storage.setItem(KEY_STORAGE, given);
    url.searchParams.delete("key");
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
    return given;
  }
  return storage.getItem(KEY_STORAGE);
}

export function saveKey(storage, key) {
  if (key) storage.setItem(KEY_STORAGE, key);
  else storage.removeItem(KEY_STORAGE);
}

/** An OpenAPI path template with its parameter names dropped: /a/{}/b. */
export function normalizePath(path) {
  return path.replace(/\{[^}]*\}/g, "{}");
}

/** "/kpis?by=grid" -> "kpis": the first path segment under the community. */
function family(suffix) {
  return suffix.split("?")[0].split("/")[1] ?? "";
}

export class Api {
  constructor(cid, key, base = "") {
    this.cid = cid;
    this.key = key;
    this.base = base;
    this.paths = null; // set of OpenAPI path templates, once discovered
    // Endpoint families that answered 403 (a scope this key lacks; the page only
    // asks for what cockpit:read grants, so this is a safety net): not asked
    // again, so the console is not filled with refusals.
    this.refused = new Set();
  }

  communityPath(suffix = "") {
    return `/v1/communities/${encodeURIComponent(this.cid)}${suffix}`;
  }

  async request(path, { etag = null, accept = "application/json", timeoutMs = TIMEOUT_MS } = {}) {
    const headers = { Accept: accept };
    if (this.key) headers.Authorization = `Bearer ${this.key}`;
    if (etag) headers["If-None-Match"] = etag;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    let response;
    try {
      // no-store: the page does its own conditional requests with the ETag.
      response = await fetch(this.base + path, { headers, signal: controller.signal, cache: "no-store" });
    } catch (err) {
      throw new ApiError(0, err.name === "AbortError" ? "timeout" : "unreachable");
    } finally {
      clearTimeout(timer);
    }
    if (response.status === 304) return { status: 304, etag, body: null };
    if (!response.ok) {
      let reason = response.statusText;
      try {
        const body = await response.json();
        reason = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body);
      } catch {
        // not JSON: keep the status text
      }
      throw new ApiError(response.status, reason);
    }
    const body = await response.json();
    return { status: response.status, etag: response.headers.get("ETag"), body };
  }

  async get(suffix, options = {}) {
    try {
      return (await this.request(this.communityPath(suffix), options)).body;
    } catch (err) {
      if (err.status === 403) this.refused.add(family(suffix));
      throw err;
    }
  }

  /**
   * Learn which endpoints this API has from /openapi.json, so that optional
   * panels neither request missing endpoints nor log 404s in the console.
   */
  async discover() {
    try {
      const spec = (await this.request("/openapi.json")).body;
      this.paths = new Set(Object.keys(spec.paths ?? {}).map(normalizePath));
    } catch {
      this.paths = null; // unknown: assume everything exists
    }
  }

  /** Whether the API serves a community endpoint, e.g. has("/live"), has("/incidents/{id}"). */
  has(suffix) {
    if (this.refused.has(family(suffix))) return false;
    return this.paths === null || this.paths.has(normalizePath(`/v1/communities/{cid}${suffix}`));
  }

  live(etag) {
    return this.request(this.communityPath("/live"), { etag });
  }

  /** The /stream response, read as it arrives (no timeout: it is endless). */
  openStream(signal) {
    const headers = { Accept: "text/event-stream" };
    if (this.key) headers.Authorization = `Bearer ${this.key}`;
    return fetch(this.base + this.communityPath("/stream"), { headers, signal, cache: "no-store" });
  }

  /**
   * A binary document (ArrayBuffer) of this community, e.g. "/buildings.glb";
   * null when the API has none for it (404).
   */
  async bytes(suffix, timeoutMs = 60000, accept = "model/gltf-binary, application/octet-stream") {
    const headers = { Accept: accept };
    if (this.key) headers.Authorization = `Bearer ${this.key}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await fetch(this.base + this.communityPath(suffix), { headers, signal: controller.signal });
      if (response.status === 404) return null;
      if (!response.ok) throw new ApiError(response.status, response.statusText);
      return accept.startsWith("image/") ? await response.blob() : await response.arrayBuffer();
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError(0, err.name === "AbortError" ? "timeout" : "unreachable");
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * An image of this community (a report's photo or its thumbnail) as a Blob,
   * fetched with the key (an <img src> could not send it); null when gone.
   */
  image(suffix) {
    return this.bytes(suffix, 15000, "image/*");
  }

  buildings() {
    return this.get("/buildings", { timeoutMs: COLLECTION_TIMEOUT_MS });
  }

  building(bid) {
    return this.get(`/buildings/${encodeURIComponent(bid)}`);
  }

  incident(iid) {
    return this.get(`/incidents/${encodeURIComponent(iid)}`);
  }

  /** A query string from an object, skipping null and undefined values. */
  static query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined) q.set(k, v);
    const s = q.toString();
    return s ? `?${s}` : "";
  }
}
