// The offline queue: every report, action and photo gets a client-made id
// when the button is pressed, is stored before it is sent, and leaves the
// store only once the server has it. Pure logic over two injected things:
//   store: { all(), put(item), remove(clientId), link(clientId, incidentId), linked(clientId) }
//   send(item, incidentId) -> Promise<{ status, body }>  (rejects on a network failure)
// so node --test drives it without a browser (tests/web/js/queue.test.mjs).

/** What an answer means for a queued item: done, try again later, or failed for good. */
export function outcome(status, body = null) {
  if (status >= 200 && status < 300) return "done"; // 200 duplicate, 201 new, 202 pending
  if (status === 401) return "signin"; // the session ended
  // A refused CSRF token is a session to renew; another 403 refuses the action itself.
  if (status === 403 && /csrf/i.test(String(body?.detail ?? ""))) return "signin";
  if (status === 408 || status === 429 || status >= 500) return "retry";
  return "failed"; // 400, 404, 409, 413, 415, 422: resending changes nothing
}

/** The incident id in a report's answer (201/200: the incident; 202: the pending note). */
export function incidentIdOf(body) {
  if (!body || typeof body !== "object") return null;
  for (const key of ["id", "incident", "incident_id"]) {
    if (typeof body[key] === "string") return body[key];
  }
  return null;
}

/** A new queued item; `kind` is "report", "action" or "photo". */
let lastCreated = 0;

export function newItem(kind, fields, now = Date.now(), uuid = () => globalThis.crypto.randomUUID()) {
  // Strictly increasing, so items made by one press keep their order (a report before its photos).
  lastCreated = Math.max(now, lastCreated + 1);
  return { client_id: uuid(), kind, created: lastCreated, state: "pending", error: null, ...fields };
}

export class OfflineQueue {
  constructor(store, send, { onChange = () => {} } = {}) {
    this.store = store;
    this.send = send;
    this.onChange = onChange;
    this.flushing = null;
    this.needsSignIn = false;
  }

  async add(item) {
    await this.store.put(item);
    this.onChange();
    return item;
  }

  async items() {
    const all = await this.store.all();
    return all.sort((a, b) => a.created - b.created);
  }

  async discard(clientId) {
    await this.store.remove(clientId);
    this.onChange();
  }

  /** Send what is pending, oldest first; one flush at a time. Resolves to the counts. */
  flush() {
    if (!this.flushing) {
      this.flushing = this._flush().finally(() => {
        this.flushing = null;
      });
    }
    return this.flushing;
  }

  async _flush() {
    const result = { sent: 0, left: 0, failed: 0 };
    for (const item of await this.items()) {
      if (item.state === "failed") {
        result.failed += 1;
        continue;
      }
      // A photo of a report waits for the report's incident id.
      const incident = item.incident ?? (item.report ? await this.store.linked(item.report) : null);
      if (item.kind !== "report" && !incident) {
        result.left += 1;
        continue;
      }
      let answer;
      try {
        answer = await this.send(item, incident);
      } catch {
        result.left += 1; // offline or the server unreachable: stop, keep the order
        break;
      }
      const what = outcome(answer.status, answer.body);
      if (what === "done") {
        if (item.kind === "report") {
          const id = incidentIdOf(answer.body);
          if (id) await this.store.link(item.client_id, id);
        }
        await this.store.remove(item.client_id);
        result.sent += 1;
      } else if (what === "failed") {
        const reason = answer.body?.detail;
        await this.store.put({
          ...item,
          state: "failed",
          error: typeof reason === "string" ? reason : `HTTP ${answer.status}`,
        });
        result.failed += 1;
      } else {
        this.needsSignIn = what === "signin";
        result.left += 1;
        break;
      }
    }
    if (result.sent || result.failed) this.onChange();
    return result;
  }
}

/** A store in memory (tests, and the page when IndexedDB is unavailable). */
export class MemoryStore {
  constructor() {
    this.map = new Map();
    this.links = new Map();
  }
  async all() {
    return [...this.map.values()].map((x) => ({ ...x }));
  }
  async put(item) {
    this.map.set(item.client_id, { ...item });
  }
  async remove(clientId) {
    this.map.delete(clientId);
  }
  async link(clientId, incidentId) {
    this.links.set(clientId, incidentId);
  }
  async linked(clientId) {
    return this.links.get(clientId) ?? null;
  }
}
