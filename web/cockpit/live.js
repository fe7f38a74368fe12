// Polls /live with If-None-Match and reports the connection state.
//
// States: "loading" (nothing yet), "live" (the last poll answered),
// "stale" (polls fail; the last snapshot stays on screen, marked stale),
// "noaccess" (404: no such community for this key — the screen is cleared),
// "needkey" (401/403). Polling goes on in "stale" so the page recovers by
// itself; it stops on "noaccess"/"needkey" because retrying cannot help.

export const POLL_MS = 2000;
// Announced changes are fetched at once, but not more often than this: a busy
// community commits several batches a second and its snapshot is ~200 KiB;
// a screen needs about one update a second.
export const MIN_GAP_MS = 1000;
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
  constructor({ fetchLive, onSnapshot, onState, intervalMs = POLL_MS, minGapMs = MIN_GAP_MS, now = Date.now }) {
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
    this.minGapMs = minGapMs;
    this.now = now;
    this.startedMs = -Infinity; // when the last poll started
    this.inFlight = false;
    this.again = false; // pollNow() came during a poll: poll once more right after it
  }

  start() {
    this.stopped = false;
    this.poll();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * Poll soon (a change was announced): at once, or when `minGapMs` has
   * passed since the last poll started; never two polls at a time.
   */
  pollNow() {
    if (this.stopped || this.state === "noaccess" || this.state === "needkey") return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    const wait = this.startedMs + this.minGapMs - this.now();
    this.timer = setTimeout(() => this.poll(), Math.max(0, wait));
  }

  async poll() {
    this.inFlight = true;
    this.startedMs = this.now();
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
    this.inFlight = false;
    const state = nextState(this.state, outcome);
    if (state !== this.state || state === "stale") {
      this.state = state;
      this.onState(state, { error, lastOkMs: this.lastOkMs });
    }
    if (this.stopped || state === "noaccess" || state === "needkey") return;
    const delay = this.again && outcome !== "error" ? this.minGapMs : delayAfter(this.failures, this.intervalMs);
    this.again = false;
    this.timer = setTimeout(() => this.poll(), delay);
  }
}
