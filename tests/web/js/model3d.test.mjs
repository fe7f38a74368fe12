// Modelled buildings read from a glb for the cockpit (web/cockpit/glb.js):
// each building's vertices contiguous per surface kind, in the page's frame
// (glTF's Y-up turned z-up, shifted by the origin), flat normals, boxes per
// building; indices, interleaving, node transforms and strips read; what
// cannot be read refused with a GlbError. And the storey picked from a height.
import assert from "node:assert/strict";
import { test } from "node:test";

import { GlbError, mergeGlb, readGlb } from "../../../web/cockpit/glb.js";
import { storeyAtHeight } from "../../../web/cockpit/model3d.js";

/**
 * A glb from a glTF document and its binary data: `views` are typed arrays,
 * one buffer view each (numbered in order), packed 4-aligned into chunk BIN.
 */
function glbOf(doc, views = [], strides = {}) {
  const parts = [];
  let length = 0;
  doc.bufferViews = views.map((array, i) => {
    const view = { buffer: 0, byteOffset: length, byteLength: array.byteLength };
    if (strides[i]) view.byteStride = strides[i];
    parts.push([length, array]);
    length += Math.ceil(array.byteLength / 4) * 4;
    return view;
  });
  doc.buffers = [{ byteLength: length }];
  doc.asset = { version: "2.0" };
  let json = new TextEncoder().encode(JSON.stringify(doc));
  const padded = new Uint8Array(Math.ceil(json.length / 4) * 4).fill(0x20);
  padded.set(json);
  json = padded;
  const total = 12 + 8 + json.length + 8 + length;
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0x46546c67, true);
  dv.setUint32(4, 2, true);
  dv.setUint32(8, total, true);
  dv.setUint32(12, json.length, true);
  dv.setUint32(16, 0x4e4f534a, true);
  out.set(json, 20);
  const bin = 20 + json.length;
  dv.setUint32(bin, length, true);
  dv.setUint32(bin + 4, 0x004e4942, true);
  for (const [at, array] of parts) out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), bin + 8 + at);
  return out.buffer;
}

const F32 = 5126;
const U16 = 5123;
const vec3 = (view, count) => ({ bufferView: view, componentType: F32, count, type: "VEC3" });
const rounded = (values) => [...values].map((v) => Math.round(v * 1e6) / 1e6 + 0); // + 0: no -0
const materials = [{ name: "roof" }, { name: "wall" }];

test("buildings merge contiguously, z up, shifted by the origin, with flat normals", () => {
  // glTF (X, Y, Z) = (east, up, -north). Node 2 is a second wall of "a", after "b".
  const glb = glbOf(
    {
      scenes: [{ nodes: [0, 1, 2] }],
      nodes: [
        { name: "a", mesh: 0, extras: { building: "a" } },
        { name: "b", mesh: 1, extras: { building: "b" } },
        { name: "a-annex", mesh: 2, extras: { building: "a" } },
      ],
      meshes: [
        { primitives: [{ attributes: { POSITION: 0 }, material: 1 }, { attributes: { POSITION: 1 }, material: 0 }] },
        { primitives: [{ attributes: { POSITION: 2 }, material: 1 }] },
        { primitives: [{ attributes: { POSITION: 3 } }] }, // no material: a wall
      ],
      materials,
      accessors: [vec3(0, 3), vec3(1, 3), vec3(2, 3), vec3(3, 3)],
    },
    [
      new Float32Array([10, 0, -20, 12, 0, -20, 12, 6, -20]),
      new Float32Array([10, 6, -20, 12, 6, -20, 11, 8, -21]),
      new Float32Array([30, 0, -40, 31, 0, -40, 31, 3, -40]),
      new Float32Array([10, 0, -22, 10, 6, -22, 10, 0, -24]),
    ],
  );
  const m = mergeGlb(readGlb(glb), [10, 20]);
  assert.deepEqual(m.ids, ["a", "b"]);
  assert.deepEqual([...m.wall.start], [0, 6]);
  assert.deepEqual([...m.wall.count], [6, 3]);
  assert.deepEqual([...m.roof.count], [3, 0]);
  assert.deepEqual([...m.wall.building], [0, 0, 0, 0, 0, 0, 1, 1, 1]);
  // (12, 6, -20) in glTF is x 12, y 20, z 6 in local metres: (2, 0, 6) on the page.
  assert.deepEqual(rounded(m.wall.positions.slice(6, 9)), [2, 0, 6]);
  // The annex's wall (x = 10, facing west), after a's first wall.
  assert.deepEqual(rounded(m.wall.positions.slice(9, 12)), [0, 2, 0]);
  assert.deepEqual(rounded(m.boxes.slice(0, 6)), [0, 0, 0, 2, 4, 8]);
  assert.deepEqual(rounded(m.boxes.slice(6, 12)), [20, 20, 0, 21, 20, 3]);
  // a's first wall lies in the plane y = 0 (north 20): its normal is ±y, unit length.
  const n = rounded(m.wall.normals.slice(0, 3));
  assert.equal(Math.abs(n[1]), 1);
  assert.deepEqual(rounded(m.wall.normals.slice(0, 9)), [...n, ...n, ...n]);
});

test("indexed, interleaved, transformed and strip primitives are read", () => {
  // One quad as 4 vertices interleaved with (unused) normals, drawn twice:
  // indexed triangles under a node moved 100 m east and turned 90° about y
  // (glTF's up), and as a strip under a child node named only.
  const interleaved = new Float32Array([
    0, 0, 0, 0, 0, 1,
    2, 0, 0, 0, 0, 1,
    2, 3, 0, 0, 0, 1,
    0, 3, 0, 0, 0, 1,
  ]);
  const half = Math.SQRT1_2;
  const glb = glbOf(
    {
      scene: 0,
      scenes: [{ nodes: [0] }],
      nodes: [
        { name: "moved", mesh: 0, translation: [100, 0, 0], rotation: [0, half, 0, half], children: [1] },
        { name: "strip", mesh: 1, extras: {} },
      ],
      meshes: [
        { primitives: [{ attributes: { POSITION: 0 }, indices: 1, material: 1 }] },
        { primitives: [{ attributes: { POSITION: 0 }, indices: 2, material: 0, mode: 5 }] },
      ],
      materials,
      accessors: [
        vec3(0, 4),
        { bufferView: 1, componentType: U16, count: 6, type: "SCALAR" },
        { bufferView: 2, componentType: U16, count: 4, type: "SCALAR" },
      ],
    },
    [interleaved, new Uint16Array([0, 1, 2, 0, 2, 3]), new Uint16Array([0, 1, 3, 2])],
    { 0: 24 },
  );
  const m = mergeGlb(readGlb(glb), [0, 0]);
  // Building ids: no extras.building anywhere, so the node names.
  assert.deepEqual(m.ids, ["moved", "strip"]);
  assert.deepEqual([...m.wall.count], [6, 0]);
  assert.deepEqual([...m.roof.count], [0, 6]);
  // Vertex 1 (2, 0, 0) turned 90° about y goes to (0, 0, -2), then 100 east:
  // glTF (100, 0, -2) is local x 100, y 2, z 0.
  assert.deepEqual(rounded(m.wall.positions.slice(3, 6)), [100, 2, 0]);
  // The child inherits the move: its strip (0, 1, 3), (3, 1, 2) in the same place.
  assert.deepEqual(rounded(m.roof.positions.slice(3, 6)), [100, 2, 0]);
  assert.deepEqual(rounded(m.roof.positions.slice(9, 12)), [100, 0, 3]);
  assert.deepEqual(rounded(m.boxes.slice(0, 6)), [100, 0, 0, 100, 2, 3]);
});

test("what cannot be read is a GlbError, never a partial draw", () => {
  const doc = () => ({
    scenes: [{ nodes: [0] }],
    nodes: [{ name: "a", mesh: 0 }],
    meshes: [{ primitives: [{ attributes: { POSITION: 0 }, indices: 1 }] }],
    accessors: [vec3(0, 3), { bufferView: 1, componentType: U16, count: 3, type: "SCALAR" }],
  });
  const data = [new Float32Array(9), new Uint16Array([0, 1, 2])];
  assert.equal(mergeGlb(readGlb(glbOf(doc(), data)), [0, 0]).ids.length, 1);
  assert.throws(() => readGlb(new TextEncoder().encode("glTF-not-really").buffer), GlbError);
  assert.throws(() => readGlb(new ArrayBuffer(64)), GlbError); // no glTF header
  const draco = { ...doc(), extensionsRequired: ["KHR_draco_mesh_compression"] };
  assert.throws(() => readGlb(glbOf(draco, data)), /KHR_draco_mesh_compression/);
  const past = glbOf(doc(), [new Float32Array(9), new Uint16Array([0, 1, 3])]);
  assert.throws(() => mergeGlb(readGlb(past), [0, 0]), /past the last vertex/);
  const long = doc();
  long.accessors[0].count = 30; // more vertices than its buffer view holds
  assert.throws(() => mergeGlb(readGlb(glbOf(long, data)), [0, 0]), /does not fit/);
  const truncated = glbOf(doc(), data).slice(0, 60);
  assert.throws(() => readGlb(truncated), GlbError);
});

test("the storey at a height, the nearest outside them all", () => {
  const b = { storeys: [1, 2, 3].map((index) => ({ index, floorZ: (index - 1) * 3, height: 3 })) };
  assert.equal(storeyAtHeight(b, 0.5), 1);
  assert.equal(storeyAtHeight(b, 4), 2);
  assert.equal(storeyAtHeight(b, 14), 3); // a roof above the top storey
  assert.equal(storeyAtHeight(b, -1), 1);
});
