// The polling state machine: live, stale while the API is away, recovery.
import assert from "node:assert/strict";
import test from "node:test";
import { LivePoller, POLL_MS, delayAfter, nextState } from "../../../web/cockpit/live.js";

test("nextState", () => {
  assert.equal(nextState("loading", "ok"), "live");
  assert.equal(nextState("live", "error"), "stale");
  assert.equal(nextState("stale", "not_modified"), "live");
  assert.equal(nextState("live", "not_found"), "noaccess");
  assert.equal(nextState("live", "unauthorized"), "needkey");
  assert.equal(nextState("noaccess", "error"), "noaccess");
});

test("delayAfter backs off a little, bounded", () => {
  assert.equal(delayAfter(0), POLL_MS);
  assert.ok(delayAfter(1) > POLL_MS);
  assert.equal(delayAfter(100), 5000);
  assert.equal(delayAfter(3, 10000), 10000); // a slower poller never polls faster when failing
});

function apiError(status) {
  return Object.assign(new Error(`status ${status}`), { status });
}

async function drive(outcomes) {
  const states = [];
  const snapshots = [];
  const etagsSent = [];
  const poller = new LivePoller({
    fetchLive: async (etag) => {
      etagsSent.push(etag);
      const next = outcomes.shift();
      if (next instanceof Error) throw next;
      return next;
    },
    onSnapshot: (body) => snapshots.push(body.version),
    onState: (s) => states.push(s),
  });
  poller.stopped = true; // drive poll() by hand instead of timers
  while (outcomes.length) await poller.poll();
  return { states, snapshots, etagsSent, poller };
}

test("poller goes stale on failures and recovers, sending the ETag", async () => {
  const run = await drive([
    { status: 200, etag: '"1"', body: { version: 1 } },
    { status: 304, etag: '"1"', body: null },
    apiError(0),
    apiError(0),
    { status: 200, etag: '"2"', body: { version: 2 } },
  ]);
  assert.deepEqual(run.states, ["live", "stale", "stale", "live"]);
  assert.deepEqual(run.snapshots, [1, 2]);
  assert.deepEqual(run.etagsSent, [null, '"1"', '"1"', '"1"', '"1"']);
  assert.equal(run.poller.failures, 0);
});

test("a 404 means no access and forgets the ETag", async () => {
  const run = await drive([{ status: 200, etag: '"5"', body: { version: 5 } }, apiError(404)]);
  assert.deepEqual(run.states, ["live", "noaccess"]);
  assert.equal(run.poller.etag, null);
});
