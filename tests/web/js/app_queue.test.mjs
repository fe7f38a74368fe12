// The phone page's offline queue (web/app/queue.js): nothing is lost while
// the network is down, a duplicate answer counts as done, and a report's
// photos wait for the report's incident id.
import assert from "node:assert/strict";
import { test } from "node:test";

import { MemoryStore, OfflineQueue, incidentIdOf, newItem, outcome } from "../../../web/app/queue.js";
import { reportBody } from "../../../web/app/report.js";
import { actionsFor } from "../../../web/app/actions.js";
import { viewBoxOf, pathOf } from "../../../web/app/map.js";
import { residentOrder } from "../../../web/app/order.js";

let n = 0;
const uuid = () => `c-${++n}`;

function server(script) {
  const seen = [];
  const send = async (item, incident) => {
    seen.push([item.kind, item.client_id, incident]);
    const next = script.shift();
    if (next === "offline") throw new TypeError("Failed to fetch");
    return next;
  };
  return { seen, send };
}

test("outcome sorts answers into done, retry, sign in and failed", () => {
  assert.deepEqual([200, 201, 202].map(outcome), ["done", "done", "done"]);
  assert.deepEqual([500, 503, 429, 408].map(outcome), ["retry", "retry", "retry", "retry"]);
  assert.equal(outcome(401), "signin");
  assert.equal(outcome(403, { detail: "missing or wrong X-CSRF-Token for this session" }), "signin");
  assert.equal(outcome(403, { detail: "only the reporting household confirms" }), "failed");
  assert.deepEqual([400, 404, 409, 413, 422].map(outcome), Array(5).fill("failed"));
});

test("an action sent while offline stays queued and is sent once when back", async () => {
  const store = new MemoryStore();
  const s = server(["offline", { status: 201, body: {} }]);
  const q = new OfflineQueue(store, s.send);
  const item = newItem("action", { incident: "r-9", body: { action: "resolve" } }, 1, uuid);
  await q.add(item);
  assert.deepEqual(await q.flush(), { sent: 0, left: 1, failed: 0 });
  assert.equal((await q.items()).length, 1);
  assert.deepEqual(await q.flush(), { sent: 1, left: 0, failed: 0 });
  assert.equal((await q.items()).length, 0);
  assert.deepEqual(await q.flush(), { sent: 0, left: 0, failed: 0 });
  assert.equal(s.seen.length, 2);
  assert.equal(s.seen[0][1], s.seen[1][1], "the resend carries the same client id");
});

test("a duplicate (200) is taken as done; a refusal is kept with its reason", async () => {
  const store = new MemoryStore();
  const s = server([{ status: 200, body: {} }, { status: 409, body: { detail: "already resolved" } }]);
  const q = new OfflineQueue(store, s.send);
  await q.add(newItem("action", { incident: "r-1", body: { action: "accept" } }, 1, uuid));
  await q.add(newItem("action", { incident: "r-1", body: { action: "accept" } }, 2, uuid));
  assert.deepEqual(await q.flush(), { sent: 1, left: 0, failed: 1 });
  const [kept] = await q.items();
  assert.equal(kept.state, "failed");
  assert.equal(kept.error, "already resolved");
  assert.deepEqual(await q.flush(), { sent: 0, left: 0, failed: 1 }, "not sent again");
});

test("a report's photos wait for its incident id, then go to that incident", async () => {
  const store = new MemoryStore();
  const s = server([{ status: 201, body: { id: "r-77" } }, { status: 201, body: {} }]);
  const q = new OfflineQueue(store, s.send);
  const report = newItem("report", { body: { description: "x" } }, 5, uuid);
  const photo = newItem("photo", { report: report.client_id }, 5, uuid);
  assert.ok(photo.created > report.created, "one press keeps its order");
  await q.add(photo);
  await q.add(report);
  assert.deepEqual(await q.flush(), { sent: 2, left: 0, failed: 0 });
  assert.deepEqual(s.seen.map((x) => [x[0], x[2]]), [["report", null], ["photo", "r-77"]]);
});

test("a 401 stops the flush and asks to sign in, keeping the item", async () => {
  const s = server([{ status: 401, body: {} }]);
  const q = new OfflineQueue(new MemoryStore(), s.send);
  await q.add(newItem("action", { incident: "r-1", body: { action: "note" } }, 1, uuid));
  await q.flush();
  assert.equal(q.needsSignIn, true);
  assert.equal((await q.items()).length, 1);
});

test("incidentIdOf reads a created incident or a pending answer", () => {
  assert.equal(incidentIdOf({ id: "r-1" }), "r-1");
  assert.equal(incidentIdOf({ incident: "r-2", event_id: "e" }), "r-2");
  assert.equal(incidentIdOf(null), null);
});

test("reportBody: home by default, a building or a point from the map", () => {
  const base = { category: "lighting", title: " ", description: " drip ", placeMode: "home" };
  assert.deepEqual(reportBody(base).body, { category: "lighting", description: "drip", place: { kind: "home" } });
  assert.equal(reportBody({ ...base, description: "" }).error, "report.need_text");
  assert.equal(reportBody({ ...base, placeMode: "map" }).error, "report.need_place");
  const unit = reportBody({ ...base, placeMode: "map", picked: { kind: "unit", building: "b2" }, storey: "3" });
  assert.deepEqual(unit.body.place, { kind: "unit", building: "b2", storey: 3 });
  const point = reportBody({ ...base, placeMode: "map", picked: { kind: "point", x: 1.5, y: -2 } });
  assert.deepEqual(point.body.place, { kind: "point", x: 1.5, y: -2 });
});

test("actionsFor: residents confirm or reopen a resolution; workers accept, then resolve", () => {
  assert.deepEqual(actionsFor("resident", "accepted"), []);
  assert.deepEqual(actionsFor("resident", "resolved"), ["confirm", "reopen"]);
  assert.ok(actionsFor("worker", "dispatched").includes("accept"));
  assert.ok(!actionsFor("worker", "dispatched").includes("resolve"));
  assert.ok(actionsFor("property", "accepted").includes("resolve"));
  assert.deepEqual(actionsFor("worker", "closed"), []);
});

test("the map's frame holds every footprint, y flipped for SVG", () => {
  const square = { type: "Polygon", coordinates: [[[0, 0], [10, 0], [10, 20], [0, 20], [0, 0]]] };
  const map = { buildings: [{ id: "b", footprint: square }], grids: [] };
  assert.deepEqual(viewBoxOf(map, 0), [0, -20, 10, 20]);
  assert.ok(pathOf(square).startsWith("M0.00,0.00L10.00,0.00L10.00,-20.00"));
});

test("a resident sees what waits for them first, then open, then the latest finished", () => {
  const list = [
    { id: "old-closed", status: "closed", closed_at: "2026-01-01T00:00:00Z" },
    { id: "open-2", status: "accepted", reported_at: "2026-02-02T00:00:00Z" },
    { id: "new-closed", status: "closed", closed_at: "2026-03-01T00:00:00Z" },
    { id: "to-confirm", status: "resolved", reported_at: "2026-02-03T00:00:00Z" },
    { id: "open-1", status: "dispatched", reported_at: "2026-02-01T00:00:00Z" },
  ];
  assert.deepEqual(residentOrder(list).map((i) => i.id),
    ["to-confirm", "open-1", "open-2", "new-closed", "old-closed"]);
});
