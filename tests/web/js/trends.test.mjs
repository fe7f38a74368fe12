// Data of the bottom charts from /kpis, /live alarms and device values.
import assert from "node:assert/strict";
import test from "node:test";
import { alarmsByBuilding, kpiBars, sumByBuilding } from "../../../api/cockpit_static/trends.js";

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
