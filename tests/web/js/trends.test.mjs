// Data of the bottom charts from /kpis, /live alarms and device values.
import assert from "node:assert/strict";
import test from "node:test";
import { alarmsByBuilding, kpiBars, sumByBuilding } from "../../../web/cockpit/trends.js";

const names = new Map([
  ["b01", "1幢"],
  ["g1", "第一网格"],
]);

test("kpiBars names grids and skips those without incidents", () => {
  const groups = [
    { key: "g1", reported: 3, closed: 1, open: 2, closed_loop_rate: 0.33 },
    { key: "g9", reported: 0, closed: 0, open: 0, closed_loop_rate: null },
    { key: null, reported: 1, closed: 1, open: 0, closed_loop_rate: 1 },
  ];
  assert.deepEqual(kpiBars(groups, names), {
    categories: ["第一网格", "–"],
    closed: [1, 1],
    open: [2, 0],
    rate: [0.33, 1],
  });
});

test("alarmsByBuilding stacks severities per building, only those present", () => {
  const alarms = [
    { building: "b01", severity: "critical" },
    { building: "b02", severity: "minor" },
    { building: "b01", severity: "minor" },
    { building: null, severity: "warning" },
  ];
  const data = alarmsByBuilding(alarms, names);
  assert.deepEqual(data.categories, ["–", "1幢", "b02"]);
  assert.deepEqual(
    data.series.map((s) => [s.key, s.values]),
    [
      ["critical", [0, 1, 0]],
      ["minor", [0, 1, 1]],
      ["warning", [1, 0, 0]],
    ],
  );
  assert.deepEqual(alarmsByBuilding([], names), { categories: [], series: [] });
});

test("sumByBuilding adds the meters of a building, skipping meters without a value", () => {
  const meters = [
    { id: "m1", building: "b02" },
    { id: "m2", building: "b01" },
    { id: "m3", building: "b01" },
    { id: "m4", building: "b03" },
  ];
  const values = new Map([
    ["m1", 5],
    ["m2", 1.5],
    ["m3", 2],
  ]);
  assert.deepEqual(sumByBuilding(meters, values, names), { categories: ["1幢", "b02"], values: [3.5, 5] });
});

test("listSignature changes with alarm ids and incident statuses only", async () => {
  const { listSignature } = await import("../../../web/cockpit/trend_panels.js");
  const snap = {
    kpis: { devices_online: 3 },
    alarms: [{ id: 2 }, { id: 1 }],
    incidents: [{ id: "r-1", status: "dispatched" }],
  };
  assert.equal(listSignature(snap), "1,2|r-1:dispatched");
  assert.equal(listSignature({ ...snap, kpis: { devices_online: 2 } }), listSignature(snap));
  assert.notEqual(listSignature({ ...snap, incidents: [{ id: "r-1", status: "accepted" }] }), listSignature(snap));
  assert.equal(listSignature({ buildings: [] }), null); // not a /live snapshot
});

test("TrendData reloads counts once per change burst, keeping the gap", async () => {
  const { TrendData } = await import("../../../web/cockpit/trend_panels.js");
  const data = new TrendData(null, { gapMs: 30 });
  let reloads = 0;
  const reload = () => (reloads += 1);
  const snap = (ids) => ({ alarms: ids.map((id) => ({ id })), incidents: [] });
  data.listsAt = 1000;
  data.noticeSnapshot(snap([1]), reload, 1000); // what the start-up load read
  data.noticeSnapshot(snap([1, 2]), reload, 1010);
  data.noticeSnapshot(snap([1, 2, 3]), reload, 1012); // same burst: one reload
  data.noticeSnapshot(snap([1, 2, 3]), reload, 1013);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(reloads, 0, "waits for the gap since the last load");
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(reloads, 1);
});
