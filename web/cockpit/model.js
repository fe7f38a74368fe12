// From API documents to what the 3D view draws: buildings with local
// footprints and storey bands, grids, and marker positions. Pure functions.

import { bounds, centroidLonLat, lonLatToLocal, polygons, ringCentroid } from "./geo.js";

const DEFAULT_STOREY_M = 3.0;

/** Storey bands of a building feature's properties: [{index, floorZ, height}]. */
export function storeyBands(props) {
  const listed = (props.storeys ?? [])
    .filter((s) => Number.isFinite(s.floor_z) && s.height > 0)
    .map((s) => ({ index: s.index, name: s.name, floorZ: s.floor_z, height: s.height }));
  if (listed.length) return listed.sort((a, b) => a.floorZ - b.floorZ);
  // No storeys stored: derive them from the height, as the importer would.
  const ground = props.ground_z ?? 0;
  const height = props.height ?? (props.roof_z ?? ground + DEFAULT_STOREY_M) - ground;
  const count = Math.max(1, props.storey_count || Math.round(height / DEFAULT_STOREY_M) || 1);
  const each = height / count;
  return Array.from({ length: count }, (_, i) => ({
    index: i + 1,
    name: null,
    floorZ: ground + i * each,
    height: each,
  }));
}

function mapGeometry(geometry, toLocal) {
  return polygons(geometry).map((rings) => rings.map((ring) => ring.map((p) => toLocal(p))));
}

/** The features whose details best pin the frame: the first and the farthest from it. */
export function frameSampleIds(features) {
  if (!features.length) return [];
  const first = features[0];
  const [x0, y0] = centroidLonLat([first]);
  let far = null;
  let best = 0;
  for (const f of features.slice(1)) {
    const [x, y] = centroidLonLat([f]);
    const d = Math.hypot(x - x0, y - y0);
    if (d > best) {
      best = d;
      far = f;
    }
  }
  return far ? [first.id, far.id] : [first.id];
}

/**
 * The community model for the scene from the buildings collection, building
 * details (for the frame; may be empty) and grid features in WGS 84 (may be empty).
 */
export function buildModel(collection, details, gridFeatures = []) {
  const features = collection.features ?? [];
  const byId = new Map(features.map((f) => [f.id ?? f.properties?.id, f]));
  const samples = details
    .filter((d) => d && byId.has(d.id) && d.footprint)
    .map((d) => [byId.get(d.id).geometry, d.footprint]);
  const frame = lonLatToLocal(features, samples);
  const buildings = features.map((f) => {
    const props = f.properties ?? {};
    const polys = mapGeometry(f.geometry, frame.toLocal);
    const storeys = storeyBands(props);
    const roofZ = props.roof_z ?? Math.max(...storeys.map((s) => s.floorZ + s.height));
    return { id: f.id ?? props.id, name: props.name, polygons: polys, storeys, roofZ, props };
  });
  const grids = gridFeatures
    .filter((g) => g.geometry)
    .map((g) => ({
      id: g.id ?? g.properties?.id,
      name: g.properties?.name,
      polygons: mapGeometry(g.geometry, frame.toLocal),
    }));
  const points = buildings.flatMap((b) => b.polygons.flatMap((p) => p[0]));
  const b = bounds(points.length ? points : [[0, 0]]);
  const origin = [(b.minX + b.maxX) / 2, (b.minY + b.maxY) / 2];
  return { buildings, grids, origin, exactFrame: frame.exact, frameResidual: frame.residual };
}

/**
 * Where to draw a marker for something in a building storey: in front of the
 * building's south face at that storey's mid height, spread sideways by
 * `slot` so several markers on one building do not overlap.
 */
export function storeyAnchor(building, storeyIndex, slot = 0) {
  const outer = building.polygons[0][0];
  const [cx] = ringCentroid(outer);
  const b = bounds(outer);
  const storey =
    building.storeys.find((s) => s.index === storeyIndex) ?? building.storeys.at(-1) ?? null;
  const z = storey ? storey.floorZ + storey.height / 2 : building.roofZ;
  const spread = ((slot % 7) - 3) * 3.5;
  return { x: cx + spread, y: b.minY - 3, z };
}

/**
 * Markers for a /live snapshot and the placed devices:
 * alarms at their storey, incidents at their located point (or storey),
 * devices placed outside buildings at their point.
 */
export function markersFor(model, snapshot, devices, { alarmFilter, incidentFilter }) {
  const byId = new Map(model.buildings.map((b) => [b.id, b]));
  const slots = new Map();
  const nextSlot = (id) => {
    const n = slots.get(id) ?? 0;
    slots.set(id, n + 1);
    return n;
  };
  const out = [];
  for (const a of snapshot?.alarms ?? []) {
    const building = byId.get(a.building);
    if (!building || !alarmFilter(a)) continue;
    const at = storeyAnchor(building, a.storey, nextSlot(a.building));
    out.push({ type: "alarm", id: a.id, severity: a.severity, ...at });
  }
  for (const i of snapshot?.incidents ?? []) {
    if (!incidentFilter(i)) continue;
    let at = null;
    if (Number.isFinite(i.x) && Number.isFinite(i.y)) at = { x: i.x, y: i.y, z: i.z ?? 0 };
    else if (byId.has(i.building)) at = storeyAnchor(byId.get(i.building), i.storey, nextSlot(i.building));
    if (at) out.push({ type: "incident", id: i.id, overdue: i.overdue, ...at });
  }
  for (const d of devices) {
    if (!Number.isFinite(d.x) || !Number.isFinite(d.y) || (d.building && !d.mobile)) continue;
    out.push({ type: "device", id: d.id, online: d.online, x: d.x, y: d.y, z: d.z ?? 0 });
  }
  return out;
}

/**
 * Whether the drawn model no longer matches the snapshot: its buildings
 * differ, or the snapshot carries a `model_version` other than the loaded one.
 */
export function modelOutdated(model, snapshot, loadedVersion) {
  if (!model || !snapshot?.buildings) return false;
  if (snapshot.model_version !== undefined && loadedVersion !== undefined) {
    if (snapshot.model_version !== loadedVersion) return true;
  }
  const drawn = new Set(model.buildings.map((b) => b.id));
  const live = snapshot.buildings.map((b) => b.id);
  return live.length !== drawn.size || live.some((id) => !drawn.has(id));
}

/** Without /live (older API): a snapshot-like view of the buildings collection. */
export function snapshotFromBuildings(cid, collection) {
  return {
    community: cid,
    buildings: (collection.features ?? []).map((f) => ({
      id: f.id,
      status: f.properties?.status,
      storeys: (f.properties?.storeys ?? []).map((s) => ({ index: s.index, status: s.status })),
    })),
  };
}
