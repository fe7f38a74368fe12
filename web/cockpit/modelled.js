// The modelled buildings of a community as two meshes: all roofs and all
// walls (glb.mergeGlb). Storeys are coloured in the wall shader:
// a float texture holds, per building, its storey bands [lo, hi] and their
// colours; each fragment looks up its building (a vertex attribute) and its
// height. Recolouring a storey rewrites one texel, never geometry. Picking
// tests the building boxes first, then only the triangles of the buildings
// the ray crosses.

import * as THREE from "three";
import { KINDS, ROOF_COLOR, WALL_COLOR } from "./model3d.js";

const TABLE_WIDTH = 1024; // texels per row of the storey table
const EDGE_ANGLE_DEG = 25;
const NO_BAND = 1e9; // lo of an unused storey slot: above every fragment

const WALL_VERTEX = `
attribute float buildingIndex;
varying float vBuilding;
varying float vHeight;`;
const WALL_FRAGMENT = `
uniform highp sampler2D storeyTable;
uniform int storeyStride;
varying float vBuilding;
varying float vHeight;
vec4 storeyTexel(int t) { return texelFetch(storeyTable, ivec2(t % ${TABLE_WIDTH}, t / ${TABLE_WIDTH}), 0); }`;
const WALL_COLOUR = `
{
  int base = int(vBuilding + 0.5) * storeyStride;
  for (int s = 0; s < storeyStride; s += 2) {
    vec4 band = storeyTexel(base + s);
    if (vHeight < band.x) break;
    if (vHeight <= band.y) { diffuseColor.rgb = storeyTexel(base + s + 1).rgb; break; }
  }
}`;

function wallMaterial(uniforms) {
  const m = new THREE.MeshLambertMaterial({ color: WALL_COLOR, side: THREE.DoubleSide });
  m.onBeforeCompile = (shader) => {
    Object.assign(shader.uniforms, uniforms);
    shader.vertexShader = `${WALL_VERTEX}\n${shader.vertexShader}`.replace(
      "#include <begin_vertex>",
      "#include <begin_vertex>\nvBuilding = buildingIndex;\nvHeight = (modelMatrix * vec4(transformed, 1.0)).z;",
    );
    shader.fragmentShader = `${WALL_FRAGMENT}\n${shader.fragmentShader}`.replace(
      "#include <color_fragment>",
      `#include <color_fragment>\n${WALL_COLOUR}`,
    );
  };
  m.customProgramCacheKey = () => "commtwin-storey-walls";
  return m;
}

function geometryOf(part, withBuilding) {
  const g = new THREE.BufferGeometry();
  g.setAttribute("position", new THREE.BufferAttribute(part.positions, 3));
  if (withBuilding) g.setAttribute("buildingIndex", new THREE.BufferAttribute(part.building, 1));
  if (part.normals) g.setAttribute("normal", new THREE.BufferAttribute(part.normals, 3));
  else g.computeVertexNormals();
  g.computeBoundingSphere();
  return g;
}

export class ModelledBuildings {
  /** `merged` from glb.mergeGlb; `buildingsById` the model's buildings (storeys). */
  constructor(merged, buildingsById, gapM) {
    this.merged = merged;
    this.indexOf = new Map(merged.ids.map((id, i) => [id, i]));
    this.buildingsById = buildingsById;
    this.group = new THREE.Group();
    this.group.userData = { modelled: true };
    this.colours = new Map(); // colour -> THREE.Color (linear), reused
    this.makeTable(gapM);
    this.uniforms = { storeyTable: { value: this.table }, storeyStride: { value: this.stride } };
    this.roofMaterial = new THREE.MeshLambertMaterial({ color: ROOF_COLOR, side: THREE.DoubleSide });
    this.wallMaterial = wallMaterial(this.uniforms);
    this.meshes = {};
    for (const kind of KINDS) {
      const mesh = new THREE.Mesh(geometryOf(merged[kind], kind === "wall"), kind === "wall" ? this.wallMaterial : this.roofMaterial);
      mesh.raycast = () => {}; // picked by raycast() below, building by building
      mesh.userData = { surface: kind };
      this.meshes[kind] = mesh;
      this.group.add(mesh);
    }
    this.outlines = new Map(); // building id -> LineSegments
  }

  /** Storey slots: per building, pairs of texels (lo, hi) and (r, g, b) in floorZ order. */
  makeTable(gapM) {
    const n = this.merged.ids.length;
    let most = 1;
    for (const id of this.merged.ids) most = Math.max(most, this.buildingsById.get(id)?.storeys.length ?? 0);
    this.stride = most * 2;
    const texels = Math.max(1, n * this.stride);
    const rows = Math.ceil(texels / TABLE_WIDTH);
    const data = new Float32Array(TABLE_WIDTH * rows * 4);
    this.slot = new Map(); // `${building}|${storey}` -> texel of its colour
    this.merged.ids.forEach((id, i) => {
      const storeys = [...(this.buildingsById.get(id)?.storeys ?? [])].sort((a, b) => a.floorZ - b.floorZ);
      for (let s = 0; s < most; s++) {
        const t = i * this.stride + s * 2;
        const st = storeys[s];
        data[t * 4] = st ? st.floorZ : NO_BAND;
        data[t * 4 + 1] = st ? st.floorZ + Math.max(0.2, st.height - Math.min(gapM, st.height * 0.15)) : NO_BAND;
        if (st) this.slot.set(`${id}|${st.index}`, t + 1);
      }
    });
    this.tableData = data;
    this.table = new THREE.DataTexture(data, TABLE_WIDTH, rows, THREE.RGBAFormat, THREE.FloatType);
    this.table.needsUpdate = true;
  }

  has(id) {
    return this.indexOf.has(id);
  }

  /** Recolour every storey: colourOf(buildingId, storeyIndex) -> CSS colour. */
  applyColours(colourOf) {
    const data = this.tableData;
    for (const [key, t] of this.slot) {
      const cut = key.indexOf("|");
      const name = colourOf(key.slice(0, cut), Number(key.slice(cut + 1)));
      let c = this.colours.get(name);
      if (!c) {
        c = new THREE.Color(name);
        this.colours.set(name, c);
      }
      data[t * 4] = c.r;
      data[t * 4 + 1] = c.g;
      data[t * 4 + 2] = c.b;
      data[t * 4 + 3] = 1;
    }
    this.table.needsUpdate = true;
  }

  /** A building's box (both surfaces), or null. */
  box(id) {
    const i = this.indexOf.get(id);
    if (i === undefined) return null;
    const b = this.merged.boxes;
    return new THREE.Box3(new THREE.Vector3(b[i * 6], b[i * 6 + 1], b[i * 6 + 2]), new THREE.Vector3(b[i * 6 + 3], b[i * 6 + 4], b[i * 6 + 5]));
  }

  /**
   * The nearest modelled surface the ray meets: {building, surface, point,
   * distance} or null; `only` limits it to one building, `kinds` to surfaces.
   */
  raycast(ray, { only = null, kinds = KINDS } = {}) {
    const { boxes } = this.merged;
    const box = new THREE.Box3();
    const a = new THREE.Vector3();
    const b = new THREE.Vector3();
    const c = new THREE.Vector3();
    const hit = new THREE.Vector3();
    let best = null;
    const candidates = only === null ? this.merged.ids.keys() : [this.indexOf.get(only)];
    for (const i of candidates) {
      if (i === undefined) continue;
      box.min.fromArray(boxes, i * 6);
      box.max.fromArray(boxes, i * 6 + 3);
      if (!ray.intersectsBox(box)) continue;
      for (const kind of kinds) {
        const { positions, start, count } = this.merged[kind];
        for (let v = start[i], end = start[i] + count[i]; v + 2 < end; v += 3) {
          a.fromArray(positions, v * 3);
          b.fromArray(positions, v * 3 + 3);
          c.fromArray(positions, v * 3 + 6);
          if (!ray.intersectTriangle(a, b, c, false, hit)) continue;
          const distance = hit.distanceTo(ray.origin);
          if (!best || distance < best.distance) {
            best = { building: this.merged.ids[i], surface: kind, point: hit.clone(), distance };
          }
        }
      }
    }
    return best;
  }

  /**
   * A point on a building's wall at height z, on the side facing the camera:
   * a level ray from outside towards the building's middle.
   */
  wallPoint(id, z, cameraPosition) {
    const box = this.box(id);
    const centre = box.getCenter(new THREE.Vector3());
    centre.z = z;
    const dir = new THREE.Vector3(centre.x - cameraPosition.x, centre.y - cameraPosition.y, 0);
    if (dir.lengthSq() < 1e-9) dir.set(0, 1, 0);
    dir.normalize();
    const reach = box.getSize(new THREE.Vector3()).length() + 1;
    const ray = new THREE.Ray(centre.clone().addScaledVector(dir, -reach), dir);
    return this.raycast(ray, { only: id, kinds: ["wall"] })?.point ?? centre;
  }

  /**
   * A point of a building's roof that the camera sees: the centre of its
   * largest roof triangle facing the camera that nothing hides (`nearestOther`
   * gives the distance to the nearest other object along a ray). Null when none is visible.
   */
  visibleRoofPoint(id, camera, nearestOther) {
    const i = this.indexOf.get(id);
    if (i === undefined) return null;
    const { positions, start, count } = this.merged.roof;
    const tri = new THREE.Triangle();
    const candidates = [];
    for (let v = start[i], end = start[i] + count[i]; v + 2 < end; v += 3) {
      tri.a.fromArray(positions, v * 3);
      tri.b.fromArray(positions, v * 3 + 3);
      tri.c.fromArray(positions, v * 3 + 6);
      const centre = tri.getMidpoint(new THREE.Vector3());
      const facing = tri.getNormal(new THREE.Vector3()).dot(camera.position.clone().sub(centre));
      if (Math.abs(facing) > 1e-6) candidates.push({ area: tri.getArea(), centre });
    }
    candidates.sort((p, q) => q.area - p.area);
    for (const { centre } of candidates.slice(0, 20)) {
      const ray = new THREE.Ray(camera.position.clone(), centre.clone().sub(camera.position).normalize());
      const hit = this.raycast(ray);
      if (hit?.building !== id || hit.surface !== "roof" || hit.point.distanceTo(centre) >= 0.5) continue;
      if (nearestOther(ray) < hit.distance) continue;
      return centre;
    }
    return null;
  }

  /** Outlines of one building (made once), or of all when `id` is null. */
  outline(id, material) {
    let lines = this.outlines.get(id);
    if (!lines) {
      const parts = id === null ? KINDS.map((k) => this.merged[k].positions) : this.positionsOf(id);
      const g = new THREE.BufferGeometry();
      const edges = [];
      for (const positions of parts) {
        g.setAttribute("position", new THREE.BufferAttribute(positions, 3));
        edges.push(new THREE.EdgesGeometry(g, EDGE_ANGLE_DEG).getAttribute("position").array);
      }
      const all = new Float32Array(edges.reduce((n, e) => n + e.length, 0));
      edges.reduce((at, e) => (all.set(e, at), at + e.length), 0);
      const geometry = new THREE.BufferGeometry();
      geometry.setAttribute("position", new THREE.BufferAttribute(all, 3));
      lines = new THREE.LineSegments(geometry, material);
      lines.userData = { edges: true };
      lines.raycast = () => {};
      this.outlines.set(id, lines);
      this.group.add(lines);
    }
    lines.material = material;
    lines.visible = true;
    return lines;
  }

  positionsOf(id) {
    const i = this.indexOf.get(id);
    return KINDS.map((k) => this.merged[k].positions.subarray(this.merged[k].start[i] * 3, (this.merged[k].start[i] + this.merged[k].count[i]) * 3));
  }

  /** Show the selected building's outline (drawn over any all-buildings outline). */
  select(id, selectedMaterial) {
    for (const [key, lines] of this.outlines) if (key !== null) lines.visible = key === id;
    if (id !== null && this.has(id)) this.outline(id, selectedMaterial);
  }

  dispose() {
    for (const o of this.group.children) o.geometry.dispose();
    this.table.dispose();
    this.wallMaterial.dispose();
    this.roofMaterial.dispose();
  }
}
