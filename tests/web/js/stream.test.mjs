// /stream parsing and reconnects, and the poller fetching at once when told.
import assert from "node:assert/strict";
import test from "node:test";
import { ChangeStream, parseEvents, retryDelay } from "../../../web/cockpit/stream.js";
import { LivePoller } from "../../../web/cockpit/live.js";

test("parseEvents splits complete events and keeps the rest", () => {
  const text = 'retry: 3000\r\nevent: version\r\nid: 7\r\ndata: {"version":7}\r\n\r\n: ping\r\n\r\nevent: alarm\r\ndata: {"a"';
  const { events, rest } = parseEvents(text);
  assert.deepEqual(events, [{ event: "version", id: "7", data: '{"version":7}' }]);
  assert.equal(rest, 'event: alarm\ndata: {"a"');
  const more = parseEvents(`${rest}:1}\n\n`);
  assert.deepEqual(more.events, [{ event: "alarm", id: null, data: '{"a":1}' }]);
  assert.equal(more.rest, "");
});

test("parseEvents waits when a chunk ends between \\r and \\n", () => {
  const first = parseEvents("event: version\r\ndata: 1\r\n\r");
  assert.deepEqual(first.events, []);
  const second = parseEvents(`${first.rest}\nevent: version\r\ndata: 2\r\n\r\n`);
  assert.deepEqual(second.events.map((e) => e.data), ["1", "2"]);
});

test("parseEvents joins data lines and drops events without data", () => {
  const { events } = parseEvents("data: a\ndata: b\n\nevent: empty\n\n");
  assert.deepEqual(events, [{ event: "message", id: null, data: "a\nb" }]);
});

test("retryDelay backs off to a bound", () => {
  assert.deepEqual([1, 2, 3].map(retryDelay), [3000, 6000, 12000]);
  assert.equal(retryDelay(50), 30000);
});

function streamOf(chunks, status = 200) {
  const body = new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(new TextEncoder().encode(chunk));
      c.close();
    },
  });
  return { status, ok: status < 300, body };
}

test("ChangeStream delivers events, then reconnects after the stream ends", async () => {
  const seen = [];
  let opened = 0;
  const stream = new ChangeStream({
    open: async () => {
      opened += 1;
      return streamOf(["event: version\ndata: ", '{"etag":"\\"3\\""}\n\n']);
    },
    onEvent: (e) => seen.push(e.event),
  });
  stream.start();
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen, ["version"]);
  assert.equal(opened, 1);
  assert.ok(stream.timer, "a reconnect is scheduled");
  stream.stop();
});

test("ChangeStream gives up on a refused key (the poller shows why)", async () => {
  const stream = new ChangeStream({ open: async () => streamOf([], 401), onEvent: () => {} });
  stream.start();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(stream.stopped, true);
  assert.equal(stream.timer, null);
});

test("pollNow polls at once, waits out the minimum gap, and never overlaps", async () => {
  let clock = 1000;
  let calls = 0;
  let release;
  const poller = new LivePoller({
    fetchLive: () => {
      calls += 1;
      return new Promise((r) => {
        release = () => r({ status: 304, etag: null, body: null });
      });
    },
    onSnapshot: () => {},
    onState: () => {},
    intervalMs: 60000,
    minGapMs: 30,
    now: () => clock,
  });
  poller.pollNow(); // first: no poll before, so at once (next tick)
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(calls, 1);
  poller.pollNow(); // in flight: remembered, not a second request
  assert.equal(calls, 1);
  clock += 5;
  release();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(calls, 1, "the gap is kept");
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(calls, 2, "polled again for the change announced meanwhile");
  poller.stop();
  release();
});
