// The 3D community: buildings as modelled (modelled.js) or as stacks of
// extruded storey bands, storeys coloured by status,
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
import { storeyAtHeight } from "./model3d.js";
import { ModelledBuildings } from "./modelled.js";
import { extrudeFootprints, removeFootprints, shapesOf } from "./footprints.js";
import { STATUS_COLORS } from "./scenes.js";

const BAND_GAP_M = 0.35; // dark gap between storeys so the bands read as floors
const CLICK_SLOP_PX = 6;
const OUTLINE_ALL_MAX = 300; // modelled buildings outlined at load up to this many
const MAX_ID_LABELS = 60; // unnamed buildings are labelled by id only in small communities

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
    this.storeyMeshes = new Map(); // `${building}|${storey}` -> extruded footprint band
    this.modelled = null; // ModelledBuildings, once the glTF is drawn
    this.buildingGroups = new Map();
    this.selected = null;
    this.markerScale = 1;
    this.beforeRender = null; // e.g. the backdrop's tile updates
    this.renderer = new THREE.WebGLRenderer({ antialias: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
    this.renderer.setClearColor(0x070d18);
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

    this.materials = new Map(); // colour -> material of extruded storey bands
    this.colourOf = () => STATUS_COLORS.normal; // the last colouring, for footprints drawn later
    this.edgeMaterial = new THREE.LineBasicMaterial({ color: 0x9fd3ff, transparent: true, opacity: 0.35 });
    this.selectedEdgeMaterial = new THREE.LineBasicMaterial({ color: 0xffffff });
    this.markerMats = markerMaterials();
    this.buildingsById = new Map();
    this.source = "footprints"; // or "model": the community's glTF

    this.world = new THREE.Group();
    this.markers = new THREE.Group();
    this.scene.add(this.world, this.markers);

    this.watchPointer();
    new ResizeObserver(() => this.resize()).observe(container);
    this.resize();
  }

  /** Remove the community (GPU buffers and label elements included). */
  clear() {
    this.world.traverse((o) => {
      o.geometry?.dispose();
      // Labels nested in groups are not told they left the scene: drop their elements.
      if (o.isCSS2DObject) o.element.remove();
    });
    this.world.clear();
    this.modelled?.dispose();
    this.modelled = null;
    this.storeyMeshes.clear();
    this.buildingGroups.clear();
    this.buildingsById.clear();
    this.source = "footprints";
    this.requestRender();
  }

  /**
   * Build the static community: labels, grids, ground, and the buildings as
   * extruded footprints unless `footprints` is false (the glTF is about to be
   * drawn instead: useModelledBuildings).
   */
  setModel({ buildings, grids, origin }, { fit = true, footprints = true } = {}) {
    this.origin = origin;
    this.clear();
    const allPoints = [];
    for (const b of buildings) {
      this.buildingsById.set(b.id, b);
      const group = new THREE.Group();
      group.userData = { building: b.id };
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
    if (footprints) for (const b of buildings) this.extrude(b);
    for (const g of grids) this.addGrid(g, origin);
    this.extent = bounds(allPoints.length ? allPoints : [origin]);
    this.maxHeight = Math.max(10, ...buildings.map((b) => b.roofZ));
    // Markers sized for a ~200 m estate; larger sites get larger markers to stay visible.
    this.markerScale = Math.max(1, Math.hypot(this.extent.maxX - this.extent.minX, this.extent.maxY - this.extent.minY) / 200);
    this.addGround();
    if (fit) this.fit();
    else this.requestRender();
  }

  /** A building as extruded footprint bands, one per storey (once). */
  extrude(b) {
    const group = this.buildingGroups.get(b.id);
    const made = extrudeFootprints(group, b, this.origin, BAND_GAP_M, {
      material: (index) => this.materialFor(this.colourOf(b.id, index)),
      edges: this.edgeMaterial,
    });
    for (const [index, mesh] of made) this.storeyMeshes.set(`${b.id}|${index}`, mesh);
  }

  /** Remove a building's extruded bands (the modelled building replaces them). */
  unextrude(id) {
    removeFootprints(this.buildingGroups.get(id));
    for (const s of this.buildingsById.get(id).storeys) this.storeyMeshes.delete(`${id}|${s.index}`);
  }

  materialFor(colour) {
    if (!this.materials.has(colour)) this.materials.set(colour, new THREE.MeshLambertMaterial({ color: colour }));
    return this.materials.get(colour);
  }

  /**
   * Draw the buildings of `merged` (glb.mergeGlb) as modelled;
   * the others, or all when `merged` is null (no glTF), as extruded
   * footprints. Returns how many buildings are drawn as modelled.
   */
  useModelledBuildings(merged) {
    if (this.modelled) {
      this.world.remove(this.modelled.group);
      this.modelled.dispose();
    }
    const drawn = merged ? merged.ids.filter((id) => this.buildingsById.has(id)).length : 0;
    this.modelled = drawn ? new ModelledBuildings(merged, this.buildingsById, BAND_GAP_M) : null;
    for (const [id, b] of this.buildingsById) {
      if (this.modelled?.has(id)) this.unextrude(id);
      else this.extrude(b);
    }
    if (this.modelled) {
      this.modelled.applyColours(this.colourOf);
      this.world.add(this.modelled.group);
      // Every outline in an estate; in a city only the selected building's (select()).
      if (drawn <= OUTLINE_ALL_MAX) this.modelled.outline(null, this.edgeMaterial);
      this.source = "model";
    }
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
    this.applyColours((b, i) => STATUS_COLORS[statusOf(b, i)] ?? STATUS_COLORS.normal);
  }

  /** Recolour storeys: colourOf(buildingId, storeyIndex) -> CSS colour. */
  applyColours(colourOf) {
    this.colourOf = colourOf;
    for (const [key, mesh] of this.storeyMeshes) {
      const [building, index] = key.split("|");
      mesh.material = this.materialFor(colourOf(building, Number(index)));
    }
    this.modelled?.applyColours(colourOf);
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
    for (const [id, group] of this.buildingGroups) {
      for (const child of group.children) {
        if (child.userData.edges) {
          child.material = id === buildingId ? this.selectedEdgeMaterial : this.edgeMaterial;
        }
      }
    }
    this.modelled?.select(buildingId, this.selectedEdgeMaterial);
    this.selected = buildingId;
    this.requestRender();
  }

  /** The box of a building as drawn (modelled or extruded), or null. */
  buildingBox(buildingId) {
    if (this.modelled?.has(buildingId)) return this.modelled.box(buildingId);
    const group = this.buildingGroups.get(buildingId);
    return group ? new THREE.Box3().setFromObject(group) : null;
  }

  /**
   * Screen position (CSS pixels in the container) of the middle of a storey
   * band's face towards the camera, for tests and callouts.
   */
  screenPointOf(buildingId, storeyIndex) {
    const storey = this.buildingsById.get(buildingId)?.storeys.find((s) => s.index === storeyIndex);
    if (!storey) return null;
    let face;
    if (this.modelled?.has(buildingId)) {
      const top = storey.height - Math.min(BAND_GAP_M, storey.height * 0.15);
      face = this.modelled.wallPoint(buildingId, storey.floorZ + top / 2, this.camera.position);
    } else {
      const mesh = this.storeyMeshes.get(`${buildingId}|${storeyIndex}`);
      if (!mesh) return null;
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
    const nearestOther = (ray) => {
      const caster = new THREE.Raycaster(ray.origin, ray.direction);
      return caster.intersectObjects(this.world.children, true)[0]?.distance ?? Infinity;
    };
    const point = this.modelled?.visibleRoofPoint(buildingId, this.camera, nearestOther);
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
    const hit = hits.find((h) => h.object.userData.incident || h.object.userData.building);
    // Modelled buildings are not scene objects to the raycaster: tested apart, nearest wins.
    const modelled = this.modelled?.raycast(ray.ray);
    if (modelled && this.buildingsById.has(modelled.building) && !(hit?.distance < modelled.distance)) {
      // A roof or wall: the storey at the height clicked (a roof: the top storey).
      const b = this.buildingsById.get(modelled.building);
      return this.onPickBuilding(b.id, storeyAtHeight(b, modelled.point.z));
    }
    if (hit?.object.userData.incident) return this.onPickIncident(hit.object.userData.incident);
    if (hit) return this.onPickBuilding(hit.object.userData.building, hit.object.userData.storey);
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
