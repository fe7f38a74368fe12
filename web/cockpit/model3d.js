// Buildings as modelled: the community's binary glTF (GET …/buildings.glb,
// one node per building with its roof and wall surfaces) merged into two
// vertex arrays in the page's frame, all roofs and all walls, each
// building's vertices contiguous so that its range can be picked, boxed and
// outlined (modelled.js draws them). One draw call per surface kind instead
// of one per building and storey: that was the first frame's cost (issue 24).
//
// glTF is Y-up; the API writes (X, Y, Z) = (x_east, z_up, -y_north) in the
// community's local metres. The page is z-up and shifted by `origin`.

import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";

export const ROOF_COLOR = "#c8965a"; // sand: apart from every status colour and the dark ground
export const WALL_COLOR = "#16202f"; // walls between storey bands and above the top storey
export const KINDS = ["roof", "wall"];

/** Parse glb bytes into three.js objects (rejects on a malformed file). */
export function parseGlb(buffer) {
  return new Promise((resolve, reject) => {
    new GLTFLoader().parse(buffer, "", (gltf) => resolve(gltf.scene), reject);
  });
}

/** The building id of a glTF node: extras.building (in userData), else the nearest named node. */
function buildingIdOf(object) {
  for (let n = object; n; n = n.parent) {
    if (typeof n.userData?.building === "string") return n.userData.building;
  }
  for (let n = object; n; n = n.parent) if (n.name && !n.isScene) return n.name;
  return null;
}

function vertexCount(geometry) {
  return geometry.index ? geometry.index.count : geometry.getAttribute("position").count;
}

/**
 * The glTF's buildings merged, in the page's frame (z up, shifted by
 * `origin`, [x, y] local metres): {ids, roof, wall, boxes} where roof and
 * wall are {positions: Float32Array (unindexed triangles), building:
 * Float32Array (the building's index per vertex), start, count: Int32Array
 * per building (in vertices)} and boxes holds per building [minX, minY,
 * minZ, maxX, maxY, maxZ] over both kinds.
 */
export function mergeBuildings(root, origin) {
  root.updateMatrixWorld(true);
  const toPage = new THREE.Matrix4()
    .makeTranslation(-origin[0], -origin[1], 0)
    .multiply(new THREE.Matrix4().makeRotationX(Math.PI / 2));
  const ids = [];
  const indexOf = new Map();
  const meshes = [];
  root.traverse((o) => {
    if (!o.isMesh) return;
    const id = buildingIdOf(o);
    if (!id) return;
    if (!indexOf.has(id)) {
      indexOf.set(id, ids.length);
      ids.push(id);
    }
    const kind = (o.material?.name ?? "").toLowerCase() === "roof" ? "roof" : "wall";
    meshes.push({ mesh: o, building: indexOf.get(id), kind });
  });
  const n = ids.length;
  const out = { ids, boxes: new Float32Array(n * 6) };
  for (const kind of KINDS) {
    const count = new Int32Array(n);
    for (const m of meshes) if (m.kind === kind) count[m.building] += vertexCount(m.mesh.geometry);
    const start = new Int32Array(n);
    for (let i = 1; i < n; i++) start[i] = start[i - 1] + count[i - 1];
    const total = n ? start[n - 1] + count[n - 1] : 0;
    out[kind] = { positions: new Float32Array(total * 3), building: new Float32Array(total), start, count };
  }
  for (let i = 0; i < n; i++) out.boxes.set([Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity], i * 6);
  const cursor = { roof: new Int32Array(out.roof.start), wall: new Int32Array(out.wall.start) };
  const matrix = new THREE.Matrix4();
  const v = new THREE.Vector3();
  for (const { mesh, building, kind } of meshes) {
    matrix.multiplyMatrices(toPage, mesh.matrixWorld);
    const pos = mesh.geometry.getAttribute("position");
    const index = mesh.geometry.index;
    const target = out[kind];
    const box = out.boxes;
    const b6 = building * 6;
    let at = cursor[kind][building];
    for (let i = 0, len = vertexCount(mesh.geometry); i < len; i++, at++) {
      v.fromBufferAttribute(pos, index ? index.getX(i) : i).applyMatrix4(matrix);
      target.positions[at * 3] = v.x;
      target.positions[at * 3 + 1] = v.y;
      target.positions[at * 3 + 2] = v.z;
      target.building[at] = building;
      if (v.x < box[b6]) box[b6] = v.x;
      if (v.y < box[b6 + 1]) box[b6 + 1] = v.y;
      if (v.z < box[b6 + 2]) box[b6 + 2] = v.z;
      if (v.x > box[b6 + 3]) box[b6 + 3] = v.x;
      if (v.y > box[b6 + 4]) box[b6 + 4] = v.y;
      if (v.z > box[b6 + 5]) box[b6 + 5] = v.z;
    }
    cursor[kind][building] = at;
  }
  return out;
}

/** The storey of `building` holding height z (the nearest one outside them all). */
export function storeyAtHeight(building, z) {
  let best = null;
  let gap = Infinity;
  for (const s of building.storeys) {
    const d = z < s.floorZ ? s.floorZ - z : z > s.floorZ + s.height ? z - s.floorZ - s.height : 0;
    if (d < gap) {
      gap = d;
      best = s.index;
    }
  }
  return best;
}

/** Whether the page should try the community's glTF (else it draws the extruded footprints). */
export function wantsModel(api, address) {
  return address.searchParams.get("draw") !== "footprints" && api.has("/buildings.glb");
}

/**
 * The community's glTF fetched and parsed (null when there is none: 404),
 * started as early as the page may so it overlaps the other requests; null
 * at once when the page draws footprints (`wantsModel`).
 */
export function fetchModelled(api, address) {
  if (!wantsModel(api, address)) return null;
  const parsed = api.bytes("/buildings.glb").then((bytes) => (bytes ? parseGlb(bytes) : null));
  parsed.catch(() => {}); // drawModelled awaits it and reports a failure; nothing unhandled before
  return parsed;
}

/**
 * Draw the buildings as modelled from `parsed` (fetchModelled). The view
 * was set up without extruded footprints when there is a glTF to wait for;
 * they are drawn now for buildings the glTF lacks, or for all when it is
 * missing (404) or fails. Returns what is drawn: "model", "footprints" or
 * "footprints-after-error".
 */
export async function drawModelled(view, model, parsed) {
  if (!parsed) return "footprints";
  try {
    const root = await parsed;
    if (view.origin !== model.origin) return "footprints"; // another model came meanwhile
    const drawn = view.useModelledBuildings(root ? mergeBuildings(root, model.origin) : null);
    return drawn ? "model" : "footprints";
  } catch (err) {
    console.warn("buildings.glb not drawn, footprints shown:", err?.message ?? err);
    if (view.origin === model.origin) view.useModelledBuildings(null);
    return "footprints-after-error";
  }
}
