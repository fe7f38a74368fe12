// Frame fitting: WGS 84 footprints must land on the community's local metres.
import assert from "node:assert/strict";
import test from "node:test";
import { fitAffine, lonLatToLocal, ringCentroid, tangentPlane, vertexPairs } from "../../../web/cockpit/geo.js";

// A local frame rotated by 1.2° against north, scaled like a transverse
// Mercator away from its meridian, and offset: what a real community CRS does.
const ANGLE = (1.2 * Math.PI) / 180;
const SCALE = 1.0004;
const OFFSET = [1500, -800];
const plane = tangentPlane(120.15, 30.27);
function localOf(lonLat) {
  const [x, y] = plane(lonLat);
  return [
    SCALE * (Math.cos(ANGLE) * x - Math.sin(ANGLE) * y) + OFFSET[0],
    SCALE * (Math.sin(ANGLE) * x + Math.cos(ANGLE) * y) + OFFSET[1],
  ];
}
function square(lon, lat, d) {
  return { type: "Polygon", coordinates: [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]] };
}
function mapped(geometry) {
  return { type: "Polygon", coordinates: geometry.coordinates.map((ring) => ring.map(localOf)) };
}

test("fitAffine recovers an affine map exactly", () => {
  const from = [[0, 0], [10, 0], [0, 10], [7, 3]];
  const to = from.map(([x, y]) => [2 * x - y + 5, x + 3 * y - 1]);
  const fit = fitAffine(from, to);
  assert.ok(fit.residual < 1e-9);
  assert.deepEqual(fit.apply([1, 1]).map((v) => Math.round(v * 1e6) / 1e6), [6, 3]);
});

test("fitAffine refuses collinear or too few points", () => {
  assert.equal(fitAffine([[0, 0], [1, 1], [2, 2]], [[0, 0], [1, 1], [2, 2]]), null);
  assert.equal(fitAffine([[0, 0], [1, 1]], [[0, 0], [1, 1]]), null);
});

test("lonLatToLocal with matching footprints is exact to the millimetre", () => {
  const a = square(120.15, 30.27, 0.0003);
  const b = square(120.152, 30.271, 0.0002);
  const features = [{ geometry: a }, { geometry: b }];
  const frame = lonLatToLocal(features, [[a, mapped(a)]]);
  assert.equal(frame.exact, true);
  const probe = [120.1515, 30.2712]; // a point the fit never saw
  const [x, y] = frame.toLocal(probe);
  const [ex, ey] = localOf(probe);
  assert.ok(Math.hypot(x - ex, y - ey) < 0.001, `${x},${y} vs ${ex},${ey}`);
});

test("lonLatToLocal without samples falls back to a tangent plane", () => {
  const a = square(120.15, 30.27, 0.0003);
  const frame = lonLatToLocal([{ geometry: a }], []);
  assert.equal(frame.exact, false);
  const [x, y] = frame.toLocal([120.15, 30.27]);
  assert.ok(Math.abs(x) < 30 && Math.abs(y) < 30); // near the centroid
});

test("mismatched footprints are not trusted", () => {
  // An irregular L-shaped footprint: a cyclic shift of its vertices is no affine image.
  const l = [[0, 0], [3, 0], [3, 1], [1, 1], [1, 4], [0, 4]].map(([x, y]) => [120.15 + x * 1e-4, 30.27 + y * 1e-4]);
  const a = { type: "Polygon", coordinates: [[...l, l[0]]] };
  const local = mapped(a).coordinates[0].slice(0, -1);
  const shifted = [...local.slice(1), local[0]];
  const wrong = { type: "Polygon", coordinates: [[...shifted, shifted[0]]] };
  assert.equal(lonLatToLocal([{ geometry: a }], [[a, mapped(a)]]).exact, true);
  assert.equal(lonLatToLocal([{ geometry: a }], [[a, wrong]]).exact, false);
  const fewer = { type: "Polygon", coordinates: [local] };
  assert.deepEqual(vertexPairs(a, fewer), [[], []]);
});

test("ringCentroid of a rectangle is its middle", () => {
  assert.deepEqual(ringCentroid([[0, 0], [30, 0], [30, 12], [0, 12], [0, 0]]), [15, 6]);
});
