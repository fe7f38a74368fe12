// SLA countdowns and hourly counts.
import assert from "node:assert/strict";
import test from "node:test";
import { byUrgency, formatDuration, perHour, slaOf } from "../../../web/cockpit/sla.js";

const NOW = Date.parse("2026-11-28T10:00:00Z");

test("the respond deadline counts until acceptance, then the resolve deadline", () => {
  const i = { respond_due_at: "2026-11-28T10:10:00Z", resolve_due_at: "2026-11-28T14:00:00Z" };
  assert.deepEqual(
    { ...slaOf({ ...i, status: "dispatched" }, NOW), dueMs: undefined },
    { phase: "respond", dueMs: undefined, remainingMs: 600000, overdue: false },
  );
  assert.equal(slaOf({ ...i, status: "accepted" }, NOW).phase, "resolve");
  assert.equal(slaOf({ ...i, status: "resolved" }, NOW), null);
  assert.equal(slaOf({ status: "reported" }, NOW), null);
  const late = slaOf({ status: "reported", respond_due_at: "2026-11-28T09:59:00Z" }, NOW);
  assert.equal(late.overdue, true);
  assert.equal(late.remainingMs, -60000);
});

test("formatDuration", () => {
  assert.equal(formatDuration(65_000), "01:05");
  assert.equal(formatDuration(-3_723_000), "1:02:03");
  assert.equal(formatDuration(3 * 24 * 3600_000 + 5 * 3600_000), "3d 5h");
});

test("byUrgency puts overdue first and deadline-less last", () => {
  const list = [
    { id: "none", status: "resolved" },
    { id: "soon", status: "reported", respond_due_at: "2026-11-28T10:05:00Z" },
    { id: "late", status: "accepted", resolve_due_at: "2026-11-28T09:00:00Z" },
  ];
  assert.deepEqual(byUrgency(list, NOW).map((i) => i.id), ["late", "soon", "none"]);
});

test("perHour counts the last 24 hours, current hour last", () => {
  const { counts, labels } = perHour(
    ["2026-11-28T09:59:00Z", "2026-11-28T10:00:00Z", "2026-11-27T11:00:00Z", "2026-11-27T10:59:59Z", "bad"],
    NOW,
  );
  assert.equal(counts.length, 24);
  assert.equal(counts[23], 1); // 10:00
  assert.equal(counts[22], 1); // 09:59
  assert.equal(counts[0], 1); // 27th 11:00, the oldest hour shown
  assert.equal(counts.reduce((a, b) => a + b), 3);
  assert.equal(labels[23].toISOString(), "2026-11-28T10:00:00.000Z");
});
