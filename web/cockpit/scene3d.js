// The 3D community: buildings as stacks of storey bands coloured by status,
// management grids on the ground, markers for alarms, incidents and placed
// devices. Frame: community-local metres, z up, shifted by `origin` so that
// float32 GPU coordinates stay precise. Renders on demand, not in a loop, to
// keep a wall screen (and a CPU-rendered test browser) cool.

import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { CSS2DObject, CSS2DRenderer } from "three/addons/renderers/CSS2DRenderer.js";
import { bounds, ringCentroid } from "./geo.js";
import { addMarker, markerMaterials } from "./markers.js";
import { pathRibbons } from "./ground.js";
import { ModelMaterials, dressBuilding, outlineBuilding, storeyAtHeight, visibleRoofPoint, wallPointAt } from "./model3d.js";
import { STATUS_COLORS } from "./scenes.js";

const BAND_GAP_M = 0.35; // dark gap between storeys so the bands read as floors
const CLICK_SLOP_PX = 6;
const OUTLINE_ALL_MAX = 300; // modelled buildings outlined at load up to this many
const MAX_ID_LABELS = 60; // unnamed buildings are labelled by id only in small communities

function shapesOf(polygons, origin) {
  return polygons.map((rings) => {
    const toV = ([x, y]) => new THREE.Vector2(x - origin[0], y - origin[1]);
    const shape = new THREE.Shape(rings[0].map(toV));
    for (const hole of rings.slice(1)) shape.holes.push(new THREE.Path(hole.map(toV)));
    return shape;
  });
}

function label(text, className) {
  const el = document.createElement("div");
  el.className = className;
  el.textContent = text;
  return new CSS2DObject(el);
}

export class CommunityScene {
  constructor(container, { onPickBuilding, onPickIncident }) {
    this.container = container;
    this.onPickBuilding = onPickBuilding;
    this.onPickIncident = onPickIncident;
    this.origin = [0, 0];
    this.storeyMeshes = new Map(); // `${building}|${storey}` -> mesh
    this.buildingGroups = new Map();
    this.selected = null;
    this.markerScale = 1;
    this.beforeRender = null; // e.g. the backdrop's tile updates

    this.renderer = new THREE.WebGLRenderer({ antialias: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
    this.renderer.setClearColor(0x070d18);
    this.renderer.localClippingEnabled = true; // storeys cut out of modelled walls
    this.renderer.domElement.className = "scene-canvas";
    container.appendChild(this.renderer.domElement);
    this.labels = new CSS2DRenderer();
    this.labels.domElement.className = "scene-labels";
    container.appendChild(this.labels.domElement);

    this.scene = new THREE.Scene();
    this.camera = new THREE.PerspectiveCamera(40, 1, 1, 10000);
    this.camera.up.set(0, 0, 1);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.maxPolarAngle = Math.PI * 0.49; // stay above the ground
    this.controls.addEventListener("change", () => this.requestRender());

    this.scene.add(new THREE.HemisphereLight(0xbfd8ff, 0x101820, 1.6));
    const sun = new THREE.DirectionalLight(0xffffff, 1.4);
    sun.position.set(-0.5, -1, 1.6);
    this.scene.add(sun);

    this.materials = Object.fromEntries(
      Object.entries(STATUS_COLORS).map(([status, color]) => [
        status,
        new THREE.MeshLambertMaterial({ color }),
      ]),
    );
    this.edgeMaterial = new THREE.LineBasicMaterial({ color: 0x9fd3ff, transparent: true, opacity: 0.35 });
    this.selectedEdgeMaterial = new THREE.LineBasicMaterial({ color: 0xffffff });
    this.markerMats = markerMaterials();
    this.modelMats = new ModelMaterials(STATUS_COLORS);
    this.buildingsById = new Map();
    this.source = "footprints"; // or "model": the community's glTF

    this.world = new THREE.Group();
    this.markers = new THREE.Group();
    this.scene.add(this.world, this.markers);

    this.watchPointer();
    new ResizeObserver(() => this.resize()).observe(container);
    this.resize();
  }

  /** Build the static community: buildings, storey bands, grids, ground. */
  /** Remove the community (GPU buffers and label elements included). */
  clear() {
    this.world.traverse((o) => {
      o.geometry?.dispose();
      // Labels nested in groups are not told they left the scene: drop their elements.
      if (o.isCSS2DObject) o.element.remove();
    });
    this.world.clear();
    this.storeyMeshes.clear();
    this.buildingGroups.clear();
    this.buildingsById.clear();
    this.source = "footprints";
    this.requestRender();
  }

  setModel({ buildings, grids, origin }, { fit = true } = {}) {
    this.origin = origin;
    this.clear();
    const allPoints = [];
    for (const b of buildings) {
      this.buildingsById.set(b.id, b);
      const group = new THREE.Group();
      group.userData = { building: b.id };
      const shapes = shapesOf(b.polygons, origin);
      const geometries = new Map(); // band height -> geometry, shared by storeys
      for (const s of b.storeys) {
        const depth = Math.max(0.2, s.height - Math.min(BAND_GAP_M, s.height * 0.15));
        let geometry = geometries.get(depth);
        if (!geometry) {
          geometry = new THREE.ExtrudeGeometry(shapes, { depth, bevelEnabled: false });
          geometries.set(depth, geometry);
        }
        const mesh = new THREE.Mesh(geometry, this.materials.normal);
        mesh.position.z = s.floorZ;
        mesh.userData = { building: b.id, storey: s.index };
        const edges = new THREE.LineSegments(new THREE.EdgesGeometry(geometry), this.edgeMaterial);
        edges.position.z = s.floorZ;
        edges.userData = { edges: true };
        group.add(mesh, edges);
        this.storeyMeshes.set(`${b.id}|${s.index}`, mesh);
      }
      const [cx, cy] = ringCentroid(b.polygons[0][0]);
      // A city tile's hundreds of unnamed buildings would bury the view in ids.
      if (b.name || buildings.length <= MAX_ID_LABELS) {
        const name = label(b.name || b.id, "label label-building");
        name.position.set(cx - origin[0], cy - origin[1], b.roofZ + 3);
        group.add(name);
      }
      this.world.add(group);
      this.buildingGroups.set(b.id, group);
      for (const poly of b.polygons) allPoints.push(...poly[0]);
      b.anchor = [cx, cy];
    }
    for (const g of grids) this.addGrid(g, origin);
    this.extent = bounds(allPoints.length ? allPoints : [origin]);
    this.maxHeight = Math.max(10, ...buildings.map((b) => b.roofZ));
    // Markers sized for a ~200 m estate; larger sites get larger markers to stay visible.
    this.markerScale = Math.max(1, Math.hypot(this.extent.maxX - this.extent.minX, this.extent.maxY - this.extent.minY) / 200);
    this.addGround();
    if (fit) this.fit();
    else this.requestRender();
  }

  /**
   * Draw the buildings found in `parts` (model3d.buildingParts) as modelled,
   * replacing their extruded footprints; the others keep theirs. Returns how
   * many buildings are drawn as modelled.
   */
  useModelledBuildings(parts) {
    let drawn = 0;
    for (const [id, group] of this.buildingGroups) {
      const part = parts.get(id);
      if (!part || (!part.roof && !part.wall)) continue;
      for (const child of [...group.children]) {
        if (child.isCSS2DObject) continue;
        group.remove(child);
        child.geometry.dispose(); // the building's own extrusions (shared by its storeys only)
      }
      for (const key of [...this.storeyMeshes.keys()]) if (key.startsWith(`${id}|`)) this.storeyMeshes.delete(key);
      const b = this.buildingsById.get(id);
      for (const [key, mesh] of dressBuilding(group, b, part, this.modelMats, BAND_GAP_M)) {
        this.storeyMeshes.set(key, mesh);
      }
      // Every outline in an estate; in a city only the selected building's (select()).
      if (parts.size <= OUTLINE_ALL_MAX) outlineBuilding(group, this.edgeMaterial);
      drawn += 1;
    }
    if (drawn) this.source = "model";
    this.select(this.selected);
    return drawn;
  }

  /** Walk paths (GeoJSON LineStrings, local metres) drawn on the ground. */
  setPaths(features) {
    const old = this.world.children.find((c) => c.userData.paths !== undefined);
    if (old) {
      this.world.remove(old);
      old.geometry.dispose();
    }
    if (features.length) this.world.add(pathRibbons(features, this.origin));
    this.requestRender();
  }

  addGrid(grid, origin) {
    for (const shape of shapesOf(grid.polygons, origin)) {
      const fill = new THREE.Mesh(
        new THREE.ShapeGeometry(shape),
        new THREE.MeshBasicMaterial({ color: 0x1fd1c1, transparent: true, opacity: 0.06, depthWrite: false }),
      );
      fill.position.z = 0.05;
      const outline = new THREE.LineLoop(
        new THREE.BufferGeometry().setFromPoints(shape.getPoints()),
        new THREE.LineBasicMaterial({ color: 0x1fd1c1 }),
      );
      outline.position.z = 0.1;
      this.world.add(fill, outline);
    }
    // The name sits on the grid's south edge, in front of the buildings as
    // first seen, rather than at its centre where a building hides it.
    const outer = grid.polygons[0][0];
    const [cx] = ringCentroid(outer);
    const name = label(grid.name || grid.id, "label label-grid");
    name.position.set(cx - origin[0], bounds(outer).minY + 3 - origin[1], 0.5);
    this.world.add(name);
  }

  addGround() {
    const e = this.extent;
    const size = Math.max(e.maxX - e.minX, e.maxY - e.minY, 50) * 3;
    const ground = new THREE.Mesh(
      new THREE.PlaneGeometry(size, size),
      new THREE.MeshLambertMaterial({ color: 0x0c1626 }),
    );
    const cx = (e.minX + e.maxX) / 2 - this.origin[0];
    const cy = (e.minY + e.maxY) / 2 - this.origin[1];
    ground.position.set(cx, cy, -0.05);
    const step = 10 ** Math.floor(Math.log10(size / 10));
    const helper = new THREE.GridHelper(size, Math.round(size / step), 0x1b2a44, 0x13203a);
    helper.rotation.x = Math.PI / 2; // GridHelper lies in x-z; the ground is x-y here
    helper.position.set(cx, cy, 0);
    this.world.add(ground, helper);
  }

  /** Put the whole community in view, seen from the south-east and above. */
  fit() {
    const e = this.extent;
    if (!e) return;
    const center = new THREE.Vector3(
      (e.minX + e.maxX) / 2 - this.origin[0],
      (e.minY + e.maxY) / 2 - this.origin[1],
      this.maxHeight / 3,
    );
    const radius = Math.max(
      20,
      0.5 * Math.hypot(e.maxX - e.minX, e.maxY - e.minY, this.maxHeight),
    );
    const halfFov = THREE.MathUtils.degToRad(this.camera.fov / 2);
    const aspect = Math.max(0.3, Math.min(1, this.camera.aspect));
    const distance = (radius / Math.sin(halfFov * aspect)) * 1.05;
    const dir = new THREE.Vector3(0.45, -0.75, 0.62).normalize();
    this.camera.position.copy(center).addScaledVector(dir, distance);
    this.camera.near = distance / 200;
    this.camera.far = distance * 20;
    this.camera.updateProjectionMatrix();
    this.controls.target.copy(center);
    this.controls.maxDistance = distance * 4;
    this.controls.update();
    this.requestRender();
  }

  /** Recolour storeys: statusOf(buildingId, storeyIndex) -> status name. */
  applyStatus(statusOf) {
    for (const [key, mesh] of this.storeyMeshes) {
      const [building, index] = key.split("|");
      const status = statusOf(building, Number(index));
      const band = mesh.userData.band;
      mesh.material = band ? this.modelMats.band(status, ...band) : (this.materials[status] ?? this.materials.normal);
    }
    this.requestRender();
  }

  /** Replace the markers: [{type, x, y, z, color?, data}] in local metres. */
  setMarkers(list) {
    for (const child of [...this.markers.children]) {
      if (child.isLine) child.geometry.dispose(); // marker meshes share their geometry
    }
    this.markers.clear();
    for (const m of list) addMarker(this.markers, this.markerMats, m, this.origin, this.markerScale);
    this.requestRender();
  }

  select(buildingId) {
    const chosen = this.buildingGroups.get(buildingId);
    if (chosen) outlineBuilding(chosen, this.selectedEdgeMaterial);
    for (const [id, group] of this.buildingGroups) {
      for (const child of group.children) {
        if (child.userData.edges) {
          child.material = id === buildingId ? this.selectedEdgeMaterial : this.edgeMaterial;
        }
      }
    }
    this.selected = buildingId;
    this.requestRender();
  }

  /**
   * Screen position (CSS pixels in the container) of the middle of a storey
   * band's face towards the camera (north or south side), for tests and callouts.
   */
  screenPointOf(buildingId, storeyIndex) {
    const mesh = this.storeyMeshes.get(`${buildingId}|${storeyIndex}`);
    if (!mesh) return null;
    let face;
    if (mesh.userData.band) {
      const wall = this.buildingGroups.get(buildingId).children.find((c) => c.userData.surface === "wall");
      const [lo, hi] = mesh.userData.band;
      face = wallPointAt(wall, (lo + hi) / 2, this.camera.position);
    } else {
      mesh.geometry.computeBoundingBox();
      const box = mesh.geometry.boundingBox.clone().translate(mesh.position);
      face = box.getCenter(new THREE.Vector3());
      face.y = this.camera.position.y < face.y ? box.min.y : box.max.y;
    }
    return this.toScreen(face);
  }

  /** Screen position (CSS pixels in the container) of a point of the scene's frame. */
  toScreen(point) {
    const p = point.clone().project(this.camera);
    const { width, height } = this.size;
    return { x: ((p.x + 1) / 2) * width, y: ((1 - p.y) / 2) * height };
  }

  /** Where a modelled building's roof is visible on screen, or null. */
  roofScreenPoint(buildingId) {
    const roof = this.buildingGroups.get(buildingId)?.children.find((c) => c.userData.surface === "roof");
    const point = roof ? visibleRoofPoint(roof, this.camera, this.world.children) : null;
    return point ? this.toScreen(point) : null;
  }

  watchPointer() {
    const canvas = this.renderer.domElement;
    let down = null;
    canvas.addEventListener("pointerdown", (e) => {
      down = { x: e.clientX, y: e.clientY };
    });
    canvas.addEventListener("pointerup", (e) => {
      if (!down || Math.hypot(e.clientX - down.x, e.clientY - down.y) > CLICK_SLOP_PX) return;
      this.pick(e);
    });
  }

  pick(event) {
    const rect = this.renderer.domElement.getBoundingClientRect();
    const ndc = new THREE.Vector2(
      ((event.clientX - rect.left) / rect.width) * 2 - 1,
      -((event.clientY - rect.top) / rect.height) * 2 + 1,
    );
    const ray = new THREE.Raycaster();
    ray.setFromCamera(ndc, this.camera);
    const hits = ray.intersectObjects([...this.markers.children, ...this.world.children], true);
    for (const hit of hits) {
      const data = hit.object.userData;
      if (data.incident) return this.onPickIncident(data.incident);
      if (data.building && data.storey !== undefined) return this.onPickBuilding(data.building, data.storey);
      if (data.building && data.surface) {
        // A roof or wall of a modelled building: the storey at the height clicked.
        const b = this.buildingsById.get(data.building);
        return this.onPickBuilding(data.building, b ? storeyAtHeight(b, hit.point.z) : null);
      }
    }
    return null;
  }

  resize() {
    const width = Math.max(1, this.container.clientWidth);
    const height = Math.max(1, this.container.clientHeight);
    this.size = { width, height };
    this.renderer.setSize(width, height);
    this.labels.setSize(width, height);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.requestRender();
  }

  requestRender() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.beforeRender?.();
      this.renderer.render(this.scene, this.camera);
      this.labels.render(this.scene, this.camera);
    });
  }
}
