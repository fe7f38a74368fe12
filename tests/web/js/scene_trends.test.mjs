// Chart data of the scene trends (/scenes/… answers) and their ETag reuse.
import assert from "node:assert/strict";
import test from "node:test";
import { periodLabel, sceneCharts, SceneTrends } from "../../../web/cockpit/scene_trends.js";

const periods = ["2026-12-03T08:00:00Z", "2026-12-03T09:00:00Z"];

test("energy: grid and PV per hour on the left, per day with carbon on the right", () => {
  const hours = { unit: "hour", periods, series: { grid_kwh: [10.004, 8], pv_kwh: [0, 4.126], carbon_kg: [5, 4] } };
  const days = { unit: "day", periods, series: { grid_kwh: [200, 100], pv_kwh: [0, 0], carbon_kg: [106.12, 53.06] } };
  const c = sceneCharts("energy", { hours, days });
  assert.deepEqual(c.left.series.map((s) => s.values), [[10, 8], [0, 4.13]]);
  assert.deepEqual(c.right.series.map((s) => s.values), [[200, 100], [106.12, 53.06]]);
  assert.equal(c.right.labels.length, 2);
});

test("traffic: occupancy in %, gates and sessions, chargers now in the note", () => {
  const hours = {
    unit: "hour",
    periods,
    lots: [{ id: "p1", occupancy: [0.305, null] }],
    chargers: { total: 2, available: 1, charging: 1, sessions: [0, 1] },
    gates: { entries: [6, 6], exits: [4, 4] },
  };
  const c = sceneCharts("traffic", { hours });
  assert.deepEqual(c.left.series[0].values, [30.5, null]);
  assert.deepEqual(c.right.series.map((s) => s.values), [[6, 6], [4, 4], [0, 1]]);
  assert.match(c.right.note, /1/);
});

test("safety and governance draw the left chart only; other scenes nothing", () => {
  const hours = { unit: "hour", periods, by_severity: { critical: [1, 0], major: [0, 0], minor: [0, 2], warning: [0, 0] } };
  const s = sceneCharts("safety", { hours });
  assert.equal(s.right, null);
  assert.deepEqual(s.left.series.map((x) => x.values)[2], [0, 2]);
  const g = sceneCharts("governance", { days: { unit: "day", periods, reported: [3, 1], closed: [2, 1] } });
  assert.deepEqual(g.left.series.map((x) => x.values), [[3, 1], [2, 1]]);
  assert.deepEqual(sceneCharts("overview", {}), { left: null, right: null });
  assert.deepEqual(sceneCharts("energy", null), { left: null, right: null });
});

test("period labels", () => {
  assert.match(periodLabel("2026-12-03T08:00:00Z", "hour"), /^\d\d:00$/);
  assert.match(periodLabel("2026-12-03T08:00:00Z", "day"), /^12-0[34]$/);
});

test("a 304 reuses the answer held for that request", async () => {
  const calls = [];
  const body = { unit: "hour", periods, lots: [], chargers: {}, gates: {} };
  const api = {
    has: () => true,
    communityPath: (s) => `/v1/communities/a${s}`,
    request: async (path, { etag }) => {
      calls.push([path, etag]);
      return etag ? { status: 304, etag, body: null } : { status: 200, etag: '"e1"', body };
    },
  };
  const trends = new SceneTrends(api);
  await trends.loadScene("traffic");
  const again = await trends.loadScene("traffic");
  assert.equal(again.hours, body);
  assert.deepEqual(calls.map((c) => c[1]), [null, '"e1"']);
});

test("the energy chart's note names the top of the buildings' ranking", async () => {
  const { rankingNote } = await import("../../../web/cockpit/scene_trends.js");
  const buildings = [
    { id: "b1", name: "1幢", rank: 2, kwh_per_m2: 0.0727 },
    { id: "b2", name: "2幢", rank: 1, kwh_per_m2: 0.09 },
    { id: "b3", name: "3幢", rank: null, kwh_per_m2: null },
  ];
  assert.match(rankingNote(buildings), /1\. 2幢 0\.09 · 2\. 1幢 0\.073$/);
  assert.equal(rankingNote([]), undefined);
});
