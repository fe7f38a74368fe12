// From API documents to the scene model: storeys, anchors, markers, scenes.
import assert from "node:assert/strict";
import test from "node:test";
import { frameSampleIds, markersFor, storeyAnchor, storeyBands } from "../../../web/cockpit/model.js";
import { alarmInScene, sortAlarms, statusIn } from "../../../web/cockpit/scenes.js";
import { initialLanguage } from "../../../web/cockpit/i18n.js";
import { Api, normalizePath, takeKey } from "../../../web/cockpit/api.js";

test("storeyBands uses stored storeys, basement first", () => {
  const bands = storeyBands({
    storeys: [
      { index: 1, floor_z: 0, height: 3 },
      { index: -1, floor_z: -3.5, height: 3.5 },
    ],
  });
  assert.deepEqual(bands.map((b) => b.index), [-1, 1]);
});

test("storeyBands derives storeys from the height when none are stored", () => {
  const bands = storeyBands({ ground_z: 2, roof_z: 20, height: 18, storey_count: 6, storeys: [] });
  assert.equal(bands.length, 6);
  assert.deepEqual([bands[0].floorZ, bands[5].floorZ, bands[5].height], [2, 17, 3]);
});

const building = {
  id: "b01",
  polygons: [[[[0, 0], [30, 0], [30, 12], [0, 12], [0, 0]]]],
  storeys: [1, 2, 3].map((i) => ({ index: i, floorZ: (i - 1) * 3, height: 3 })),
  roofZ: 9,
};

test("storeyAnchor sits south of the building at the storey's mid height", () => {
  const a = storeyAnchor(building, 2);
  assert.equal(a.z, 4.5);
  assert.ok(a.y < 0);
  assert.notEqual(storeyAnchor(building, 2, 1).x, a.x); // spread, not stacked
});

test("markersFor places alarms, incidents and outdoor devices and filters by scene", () => {
  const model = { buildings: [building] };
  const snapshot = {
    alarms: [
      { id: 1, building: "b01", storey: 3, severity: "critical", kind: "smoke" },
      { id: 2, building: "nowhere", storey: 1, severity: "minor", kind: "smoke" },
      { id: 3, building: "b01", storey: 1, severity: "minor", kind: "wearable" },
    ],
    incidents: [
      { id: "r-1", x: 5, y: 6, z: null, overdue: true },
      { id: "r-2", building: "b01", storey: 2 },
      { id: "r-3" },
    ],
  };
  const devices = [
    { id: "parking", x: 60, y: 75, z: 0, online: true },
    { id: "smoke-in-b01", building: "b01", x: 1, y: 1 },
    { id: "unplaced", x: null, y: null },
  ];
  const out = markersFor(model, snapshot, devices, {
    alarmFilter: (a) => alarmInScene(a, "safety"),
    incidentFilter: () => true,
  });
  assert.deepEqual(out.map((m) => `${m.type}:${m.id}`), ["alarm:1", "incident:r-1", "incident:r-2", "device:parking"]);
  assert.deepEqual([out[1].x, out[1].y, out[1].z], [5, 6, 0]);
});

test("frameSampleIds picks the first building and the farthest one", () => {
  const sq = (lon) => ({ type: "Polygon", coordinates: [[[lon, 0], [lon + 1, 0], [lon, 1], [lon, 0]]] });
  const ids = frameSampleIds([
    { id: "a", geometry: sq(0) },
    { id: "b", geometry: sq(1) },
    { id: "c", geometry: sq(5) },
  ]);
  assert.deepEqual(ids, ["a", "c"]);
});

test("statusIn reads the scene, falling back to the overall status without scenes", () => {
  const rec = { status: "alarm", scenes: { safety: "alarm", energy: "normal" } };
  assert.equal(statusIn(rec, "energy"), "normal");
  assert.equal(statusIn(rec, "overview"), "alarm");
  assert.equal(statusIn({ status: "offline" }, "traffic"), "offline");
  assert.equal(statusIn({ status: "bogus" }, "overview"), "normal");
  assert.equal(statusIn(null, "safety"), "normal");
});

test("sortAlarms: most severe, then newest", () => {
  const sorted = sortAlarms([
    { id: 1, severity: "minor", raised_at: "2026-01-01T00:00:02Z" },
    { id: 2, severity: "critical", raised_at: "2026-01-01T00:00:00Z" },
    { id: 3, severity: "critical", raised_at: "2026-01-01T00:00:01Z" },
  ]);
  assert.deepEqual(sorted.map((a) => a.id), [3, 2, 1]);
});

test("initialLanguage: saved choice, else the browser's, else English", () => {
  assert.equal(initialLanguage("en", ["zh-CN"]), "en");
  assert.equal(initialLanguage(null, ["fr-FR", "zh-TW"]), "zh");
  assert.equal(initialLanguage(null, ["de"]), "en");
});

test("takeKey stores ?key= and removes it from the address", () => {
  const store = new Map();
  const storage = { setItem: (k, v) => store.set(k, v), getItem: (k) => store.get(k) ?? null };
  let replaced = null;
  const history = { state: null, replaceState: (_s, _t, url) => (replaced = url) };
  const key = takeKey({ href: "http://h/cockpit/a?key=ctk_1&lang=en#x" }, history, storage);
  assert.equal(key, "ctk_1");
  assert.equal(replaced, "/cockpit/a?lang=en#x");
  assert.equal(takeKey({ href: "http://h/cockpit/a" }, history, storage), "ctk_1");
});

test("endpoint discovery ignores path parameter names", () => {
  assert.equal(normalizePath("/v1/communities/{cid}/incidents/{iid}"), "/v1/communities/{}/incidents/{}");
  const api = new Api("a", "k");
  api.paths = new Set(["/v1/communities/{}/live"].map(normalizePath));
  assert.equal(api.has("/live"), true);
  assert.equal(api.has("/stream"), false);
  assert.equal(Api.query({ a: 1, b: null, c: "x y" }), "?a=1&c=x+y");
});

test("modelOutdated: other buildings or another model_version", async () => {
  const { modelOutdated } = await import("../../../web/cockpit/model.js");
  const model = { buildings: [{ id: "a" }, { id: "b" }] };
  assert.equal(modelOutdated(model, { buildings: [{ id: "b" }, { id: "a" }] }, undefined), false);
  assert.equal(modelOutdated(model, { buildings: [{ id: "a" }] }, undefined), true);
  assert.equal(modelOutdated(model, { buildings: [{ id: "a" }, { id: "c" }] }, undefined), true);
  const same = { buildings: [{ id: "a" }, { id: "b" }], model_version: 8 };
  assert.equal(modelOutdated(model, same, 7), true);
  assert.equal(modelOutdated(model, same, 8), false);
  assert.equal(modelOutdated(null, same, 8), false);
});
