// Server-sent events from /stream, read with fetch: EventSource cannot send
// the Authorization header, and the key must not go into a URL.
//
// The page does not apply the events itself. /live stays the one source of
// what the screen shows; an event only says "there is a newer version, poll
// now", so a change shows within a moment instead of up to one polling
// interval later. If the stream cannot be had, polling alone goes on.

const RETRY_MS = 3000;
const MAX_RETRY_MS = 30000;

/**
 * Split server-sent-event text into complete events and the unfinished rest
 * (to be prefixed to the next chunk). Comments (": ping") are dropped; an
 * event without data is not dispatched, as in EventSource.
 */
export function parseEvents(text) {
  // A chunk may end between the \r and \n of one line ending: keep the \r.
  const cut = text.endsWith("\r") ? text.length - 1 : text.length;
  const blocks = text.slice(0, cut).replace(/\r\n?/g, "\n").split("\n\n");
  const rest = blocks.pop() + text.slice(cut);
  const events = [];
  for (const block of blocks) {
    let event = "message";
    let id = null;
    const data = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (name === "event") event = value;
      else if (name === "id") id = value;
      else if (name === "data") data.push(value);
    }
    if (data.length) events.push({ event, id, data: data.join("\n") });
  }
  return { events, rest };
}

/** Delay before reconnecting after `failures` failed attempts in a row. */
export function retryDelay(failures) {
  return Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** Math.max(0, failures - 1));
}

export class ChangeStream {
  /**
   * open(signal) -> fetch Response of /stream; onEvent({event, id, data}) for
   * each event. A 4xx answer stops the stream for good (the /live poller
   * shows what is wrong with the key); anything else reconnects with backoff.
   */
  constructor({ open, onEvent }) {
    this.open = open;
    this.onEvent = onEvent;
    this.failures = 0;
    this.stopped = true;
    this.controller = null;
    this.timer = null;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.controller?.abort();
  }

  async connect() {
    this.controller = new AbortController();
    try {
      const response = await this.open(this.controller.signal);
      if (response.status >= 400 && response.status < 500 && response.status !== 429) {
        this.stopped = true;
        return;
      }
      if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
      this.failures = 0;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const { events, rest } = parseEvents(buffer + value);
        buffer = rest;
        for (const e of events) this.onEvent(e);
      }
    } catch {
      // Unreachable, cut, or stopped: the poller reports the connection state.
    }
    if (this.stopped) return;
    this.failures += 1;
    this.timer = setTimeout(() => this.connect(), retryDelay(this.failures));
  }
}

/**
 * Once /live has answered, follow /stream: a version other than the one
 * shown (or a reset) makes the poller fetch /live now.
 */
export function followStream(api, poller) {
  const stream = new ChangeStream({
    open: (signal) => api.openStream(signal),
    onEvent: (e) => {
      if (e.event === "reset") poller.pollNow();
      if (e.event !== "version") return;
      try {
        if (JSON.parse(e.data).etag !== poller.etag) poller.pollNow();
      } catch {
        poller.pollNow();
      }
    },
  });
  const started = setInterval(() => {
    if (poller.state === "live") {
      clearInterval(started);
      stream.start();
    } else if (poller.state === "noaccess" || poller.state === "needkey") clearInterval(started);
  }, 250);
}
