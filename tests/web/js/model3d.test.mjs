// Modelled buildings merged for the cockpit (web/cockpit/model3d.js): each
// building's vertices contiguous per surface kind, in the page's frame
// (glTF's Y-up turned z-up, shifted by the origin), boxes per building, and
// the storey picked from a height.
import assert from "node:assert/strict";
import { test } from "node:test";

// The page's own three (web/node_modules), the module model3d.js resolves "three" to.
import * as THREE from "../../../web/node_modules/three/build/three.module.js";
import { mergeBuildings, storeyAtHeight } from "../../../web/cockpit/model3d.js";

function surface(kind, positions) {
  const g = new THREE.BufferGeometry();
  g.setAttribute("position", new THREE.BufferAttribute(new Float32Array(positions), 3));
  return new THREE.Mesh(g, Object.assign(new THREE.MeshBasicMaterial(), { name: kind }));
}

const rounded = (values) => [...values].map((v) => Math.round(v * 1e6) / 1e6 + 0); // + 0: no -0

function building(id, parts) {
  const node = new THREE.Group();
  node.name = id;
  node.add(...parts);
  return node;
}

test("buildings merge contiguously, z up, shifted by the origin", () => {
  const root = new THREE.Group();
  // glTF (X, Y, Z) = (east, up, -north).
  root.add(
    building("a", [surface("wall", [10, 0, -20, 12, 0, -20, 12, 6, -20]), surface("roof", [10, 6, -20, 12, 6, -20, 11, 8, -21])]),
    building("b", [surface("wall", [30, 0, -40, 31, 0, -40, 31, 3, -40])]),
  );
  // A second wall of "a" after "b" in the tree still lands in a's range.
  root.children[0].add(surface("wall", [10, 0, -22, 10, 6, -22, 10, 0, -24]));
  const m = mergeBuildings(root, [10, 20]);
  assert.deepEqual(m.ids, ["a", "b"]);
  assert.deepEqual([...m.wall.start], [0, 6]);
  assert.deepEqual([...m.wall.count], [6, 3]);
  assert.deepEqual([...m.roof.count], [3, 0]);
  assert.deepEqual([...m.wall.building], [0, 0, 0, 0, 0, 0, 1, 1, 1]);
  // (12, 6, -20) in glTF is x 12, y 20, z 6 in local metres: (2, 0, 6) on the page.
  assert.deepEqual(rounded(m.wall.positions.slice(6, 9)), [2, 0, 6]);
  assert.deepEqual(rounded(m.boxes.slice(0, 6)), [0, 0, 0, 2, 4, 8]);
  assert.deepEqual(rounded(m.boxes.slice(6, 12)), [20, 20, 0, 21, 20, 3]);
});

test("the storey at a height, the nearest outside them all", () => {
  const b = { storeys: [1, 2, 3].map((index) => ({ index, floorZ: (index - 1) * 3, height: 3 })) };
  assert.equal(storeyAtHeight(b, 0.5), 1);
  assert.equal(storeyAtHeight(b, 4), 2);
  assert.equal(storeyAtHeight(b, 14), 3); // a roof above the top storey
  assert.equal(storeyAtHeight(b, -1), 1);
});
