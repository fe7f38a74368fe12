// Polls /live with If-None-Match and reports the connection state.
//
// States: "loading" (nothing yet), "live" (the last poll answered),
// "stale" (polls fail; the last snapshot stays on screen, marked stale),
// "noaccess" (404: no such community for this key — the screen is cleared),
// "needkey" (401/403). Polling goes on in "stale" so the page recovers by
// itself; it stops on "noaccess"/"needkey" because retrying cannot help.

export const POLL_MS = 2000;
const MAX_BACKOFF_MS = 5000;

/** The next state after a poll's outcome (pure, for tests and clarity). */
export function nextState(state, outcome) {
  if (outcome === "ok" || outcome === "not_modified") return "live";
  if (outcome === "not_found") return "noaccess";
  if (outcome === "unauthorized") return "needkey";
  return state === "loading" || state === "live" || state === "stale" ? "stale" : state;
}

/** Delay before the next poll: the interval, growing a little while failing. */
export function delayAfter(failures, intervalMs = POLL_MS) {
  return failures === 0 ? intervalMs : Math.min(Math.max(intervalMs, MAX_BACKOFF_MS), intervalMs + 1000 * failures);
}

function outcomeOf(error) {
  if (error.status === 404) return "not_found";
  if (error.status === 401 || error.status === 403) return "unauthorized";
  return "error";
}

export class LivePoller {
  /**
   * fetchLive(etag) -> {status, etag, body}; onSnapshot(body) on each new
   * version; onState(state, info) on each state change and failure.
   */
  constructor({ fetchLive, onSnapshot, onState, intervalMs = POLL_MS }) {
    this.fetchLive = fetchLive;
    this.intervalMs = intervalMs;
    this.onSnapshot = onSnapshot;
    this.onState = onState;
    this.state = "loading";
    this.etag = null;
    this.failures = 0;
    this.lastOkMs = null;
    this.timer = null;
    this.stopped = false;
  }

  start() {
    this.stopped = false;
    this.poll();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  async poll() {
    let outcome;
    let error = null;
    try {
      const res = await this.fetchLive(this.etag);
      if (res.status === 304) {
        outcome = "not_modified";
      } else {
        outcome = "ok";
        this.etag = res.etag;
        this.onSnapshot(res.body);
      }
      this.failures = 0;
      this.lastOkMs = Date.now();
    } catch (err) {
      error = err;
      outcome = outcomeOf(err);
      this.failures += 1;
      if (outcome !== "error") this.etag = null;
    }
    const state = nextState(this.state, outcome);
    if (state !== this.state || state === "stale") {
      this.state = state;
      this.onState(state, { error, lastOkMs: this.lastOkMs });
    }
    if (this.stopped || state === "noaccess" || state === "needkey") return;
    this.timer = setTimeout(() => this.poll(), delayAfter(this.failures, this.intervalMs));
  }
}
