// Buildings as modelled: the community's binary glTF (GET …/buildings.glb,
// one node per building with its roof and wall surfaces) turned into meshes
// of the page's frame, with storeys still coloured by status: each storey is
// the building's own wall mesh clipped to the storey's band (clipping planes
// at floor_z and floor_z + height), so a storey in alarm shows where it is on
// the real building, whatever its shape.
//
// glTF is Y-up; the API writes (X, Y, Z) = (x_east, z_up, -y_north) in the
// community's local metres. The page is z-up and shifted by `origin`.

import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";
import { mergeGeometries } from "three/addons/utils/BufferGeometryUtils.js";

export const ROOF_COLOR = "#c8965a"; // sand: apart from every status colour and the dark ground
export const WALL_COLOR = "#16202f"; // walls between storey bands and above the top storey
const EDGE_ANGLE_DEG = 25;

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

function plain(geometry) {
  // Positions only, unindexed and in a fresh array (glTF may interleave or
  // index them): the parts of one building then merge into one geometry.
  const pos = geometry.getAttribute("position");
  const index = geometry.index;
  const n = index ? index.count : pos.count;
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const k = index ? index.getX(i) : i;
    out[i * 3] = pos.getX(k);
    out[i * 3 + 1] = pos.getY(k);
    out[i * 3 + 2] = pos.getZ(k);
  }
  const g = new THREE.BufferGeometry();
  g.setAttribute("position", new THREE.BufferAttribute(out, 3));
  return g;
}

/**
 * Per building id: {roof, wall} geometries (either may be null) in the page's
 * frame: z up, shifted by `origin` ([x, y] local metres).
 */
export function buildingParts(root, origin) {
  root.updateMatrixWorld(true);
  const toPage = new THREE.Matrix4()
    .makeTranslation(-origin[0], -origin[1], 0)
    .multiply(new THREE.Matrix4().makeRotationX(Math.PI / 2));
  const pieces = new Map(); // id -> {roof: [], wall: []}
  root.traverse((o) => {
    if (!o.isMesh) return;
    const id = buildingIdOf(o);
    if (!id) return;
    const kind = (o.material?.name ?? "").toLowerCase() === "roof" ? "roof" : "wall";
    const g = plain(o.geometry).applyMatrix4(new THREE.Matrix4().multiplyMatrices(toPage, o.matrixWorld));
    if (!pieces.has(id)) pieces.set(id, { roof: [], wall: [] });
    pieces.get(id)[kind].push(g);
  });
  const parts = new Map();
  for (const [id, p] of pieces) {
    const merge = (list) => {
      if (!list.length) return null;
      const g = list.length === 1 ? list[0] : mergeGeometries(list);
      g.computeVertexNormals();
      g.computeBoundingBox();
      return g;
    };
    parts.set(id, { roof: merge(p.roof), wall: merge(p.wall) });
  }
  return parts;
}

/** Materials of modelled buildings; storey materials are cut to their band. */
export class ModelMaterials {
  constructor(statusColors) {
    this.statusColors = statusColors;
    this.roof = new THREE.MeshLambertMaterial({ color: ROOF_COLOR, side: THREE.DoubleSide });
    this.wall = new THREE.MeshLambertMaterial({ color: WALL_COLOR, side: THREE.DoubleSide });
    this.bands = new Map();
  }

  /** The status colour clipped to z in [lo, hi], drawn over the plain wall. */
  band(status, lo, hi) {
    const key = `${status}|${lo}|${hi}`;
    let m = this.bands.get(key);
    if (!m) {
      m = new THREE.MeshLambertMaterial({
        color: this.statusColors[status] ?? this.statusColors.normal,
        side: THREE.DoubleSide,
        clippingPlanes: [new THREE.Plane(new THREE.Vector3(0, 0, 1), -lo), new THREE.Plane(new THREE.Vector3(0, 0, -1), hi)],
        polygonOffset: true, // wins over the plain wall it lies on
        polygonOffsetFactor: -1,
        polygonOffsetUnits: -4,
      });
      this.bands.set(key, m);
    }
    return m;
  }
}

/**
 * Fill a building's group with its modelled surfaces: roof, plain wall, one
 * clipped wall per storey. Returns the storey meshes as
 * [[`${building}|${index}`, mesh]]; the roof and wall are the pickable ones.
 */
export function dressBuilding(group, building, part, materials, gapM) {
  const storeys = [];
  if (part.roof) {
    const roof = new THREE.Mesh(part.roof, materials.roof);
    roof.userData = { building: building.id, surface: "roof" };
    group.add(roof);
  }
  if (part.wall) {
    const wall = new THREE.Mesh(part.wall, materials.wall);
    wall.userData = { building: building.id, surface: "wall" };
    group.add(wall);
    for (const s of building.storeys) {
      const lo = s.floorZ;
      const hi = s.floorZ + Math.max(0.2, s.height - Math.min(gapM, s.height * 0.15));
      const mesh = new THREE.Mesh(part.wall, materials.band("normal", lo, hi));
      // Never a ray target: the geometry is the whole wall, clipping is only drawn.
      mesh.raycast = () => {};
      mesh.userData = { building: building.id, storey: s.index, band: [lo, hi] };
      group.add(mesh);
      storeys.push([`${building.id}|${s.index}`, mesh]);
    }
  }
  // Outlines are made for the selected building only (outlineBuilding): for
  // a city's thousands of buildings they would cost seconds at load.
  group.userData.modelled = true;
  return storeys;
}

/** Add a modelled building's outlines (once), drawn with `material`. */
export function outlineBuilding(group, material) {
  if (!group.userData.modelled || group.children.some((c) => c.userData.edges)) return;
  for (const surface of group.children.filter((c) => c.userData.surface)) {
    const edges = new THREE.LineSegments(new THREE.EdgesGeometry(surface.geometry, EDGE_ANGLE_DEG), material);
    edges.userData = { edges: true };
    edges.raycast = () => {};
    group.add(edges);
  }
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

/**
 * A point on a modelled building's wall at height z, on the side facing the
 * camera: a level ray from outside towards the building's middle.
 */
export function wallPointAt(wallMesh, z, cameraPosition) {
  const box = wallMesh.geometry.boundingBox;
  const centre = box.getCenter(new THREE.Vector3());
  centre.z = z;
  const dir = new THREE.Vector3(centre.x - cameraPosition.x, centre.y - cameraPosition.y, 0);
  if (dir.lengthSq() < 1e-9) dir.set(0, 1, 0);
  dir.normalize();
  const reach = box.getSize(new THREE.Vector3()).length() + 1;
  const from = centre.clone().addScaledVector(dir, -reach);
  const hit = new THREE.Raycaster(from, dir, 0, reach * 2).intersectObject(wallMesh, false)[0];
  return hit ? hit.point : centre;
}

/**
 * Draw the buildings as modelled from the community's glTF over the extruded
 * footprints the view shows; those stay when the API has no glTF (404), it
 * fails, or the address says ?draw=footprints. Returns what is drawn:
 * "model", "footprints" or "footprints-after-error".
 */
export async function drawModelled(api, view, model, address) {
  if (address.searchParams.get("draw") === "footprints" || !api.has("/buildings.glb")) return "footprints";
  try {
    const bytes = await api.bytes("/buildings.glb");
    if (!bytes || view.origin !== model.origin) return "footprints";
    const drawn = view.useModelledBuildings(buildingParts(await parseGlb(bytes), model.origin));
    view.requestRender();
    return drawn ? "model" : "footprints";
  } catch (err) {
    console.warn("buildings.glb not drawn, footprints kept:", err?.message ?? err);
    return "footprints-after-error";
  }
}

/**
 * A point of a modelled building's roof that the camera sees (for tests and
 * callouts): the centre of its largest roof triangle facing the camera that
 * no other object hides. Null when none is visible.
 */
export function visibleRoofPoint(roofMesh, camera, obstacles) {
  const pos = roofMesh.geometry.getAttribute("position");
  const tri = new THREE.Triangle();
  const candidates = [];
  for (let i = 0; i + 2 < pos.count; i += 3) {
    tri.a.fromBufferAttribute(pos, i);
    tri.b.fromBufferAttribute(pos, i + 1);
    tri.c.fromBufferAttribute(pos, i + 2);
    const centre = tri.getMidpoint(new THREE.Vector3());
    const facing = tri.getNormal(new THREE.Vector3()).dot(camera.position.clone().sub(centre));
    if (Math.abs(facing) > 1e-6) candidates.push({ area: tri.getArea(), centre });
  }
  candidates.sort((a, b) => b.area - a.area);
  const ray = new THREE.Raycaster();
  for (const { centre } of candidates.slice(0, 20)) {
    const dir = centre.clone().sub(camera.position).normalize();
    ray.set(camera.position, dir);
    const hit = ray.intersectObjects(obstacles, true)[0];
    if (hit?.object === roofMesh && hit.point.distanceTo(centre) < 0.5) return centre;
  }
  return null;
}
