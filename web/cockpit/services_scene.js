// The "services" scene: buildings coloured by walking minutes to the nearest
// facility of one type (the 15-minute service circle, docs/cockpit.md), and a
// what-if: the planner picks "place candidate", clicks the ground, and the
// buildings recolour with the minutes the API computes for that candidate
// (POST /service-circle/scenarios; nothing stored changes).

import * as THREE from "three";
import { el } from "./dom.js";
import { language } from "./i18n.js";

export const SERVICE_TYPES = [
  "clinic",
  "elderly_care",
  "canteen",
  "kindergarten",
  "school",
  "supermarket",
  "bus_stop",
  "park",
];

// Minutes → colour band: within 5, 10, 15 minutes, beyond, no facility reachable.
export const BANDS = [
  { key: "m5", max: 5, color: "#22c55e" },
  { key: "m10", max: 10, color: "#a3e635" },
  { key: "m15", max: 15, color: "#f2a900" },
  { key: "far", max: Infinity, color: "#e5303a" },
];
export const NONE_COLOR = "#6b7280";

const TEXTS = {
  zh: {
    title: "15分钟生活圈",
    type: "服务类型",
    place: "放置候选设施",
    placing: "点击地面放置…",
    clear: "清除候选",
    m5: "≤5 分钟",
    m10: "≤10 分钟",
    m15: "≤15 分钟",
    far: ">15 分钟",
    none: "不可达",
    gained: "新增覆盖 {homes} 户（老人 {elderly} 户，15分钟）",
    covered: "15分钟覆盖 {covered}/{total} 户",
    estimate: "无步行路网，按直线×绕行系数估算",
    clinic: "卫生服务站",
    elderly_care: "养老服务中心",
    canteen: "社区食堂",
    kindergarten: "幼儿园",
    school: "学校",
    supermarket: "超市/便利店",
    bus_stop: "公交站",
    park: "公园",
  },
  en: {
    title: "15-minute service circle",
    type: "Service",
    place: "Place candidate",
    placing: "Click the ground…",
    clear: "Clear candidate",
    m5: "≤ 5 min",
    m10: "≤ 10 min",
    m15: "≤ 15 min",
    far: "> 15 min",
    none: "unreachable",
    gained: "Newly covered: {homes} homes ({elderly} elderly, 15 min)",
    covered: "Within 15 min: {covered}/{total} homes",
    estimate: "No walking network: straight line × detour factor (estimate)",
    clinic: "Clinic",
    elderly_care: "Elderly-care centre",
    canteen: "Canteen",
    kindergarten: "Kindergarten",
    school: "School",
    supermarket: "Supermarket",
    bus_stop: "Bus stop",
    park: "Park",
  },
};

export function tt(key, params = {}) {
  const text = (TEXTS[language()] ?? TEXTS.en)[key] ?? TEXTS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

/** Colour of a building for its minutes (null: no facility reachable). */
export function colorForMinutes(minutes) {
  if (minutes === null || minutes === undefined || !Number.isFinite(minutes)) return NONE_COLOR;
  return BANDS.find((b) => Math.round(minutes * 100) / 100 <= b.max).color;
}

export class ServicesScene {
  constructor(api, view, container) {
    this.api = api;
    this.view = view;
    this.container = container;
    this.type = "clinic";
    this.base = null; // GET /service-circle: features with minutes per type
    this.summary = null;
    this.whatIf = null; // {x, y, type, result}
    this.placing = false;
    this.active = false;
    this.candidate = null;
    view.renderer.domElement.addEventListener("pointerup", (e) => this.onPointerUp(e));
  }

  available() {
    return this.api.has("/service-circle");
  }

  async load() {
    if (!this.available()) return;
    this.base = await this.api.get("/service-circle");
    this.summary = await this.api.get("/service-circle/summary").catch(() => null);
  }

  /** Enter or leave the scene. */
  async show(active) {
    this.active = active;
    this.container.hidden = !active;
    if (!active) {
      this.placing = false;
      this.removeCandidateMarker();
      return;
    }
    if (!this.base) {
      try {
        await this.load();
      } catch {
        return;
      }
    }
    this.render();
    this.apply();
  }

  minutesOf(buildingId) {
    const changed = this.whatIf?.type === this.type ? this.whatIf.minutes.get(buildingId) : undefined;
    if (changed !== undefined) return changed;
    return this.byId?.get(buildingId)?.minutes?.[this.type] ?? null;
  }

  /** Recolour every storey of every building by its walking minutes. */
  apply() {
    if (!this.active || !this.base) return;
    this.byId = new Map((this.base.features ?? []).map((f) => [f.id, f.properties]));
    this.view.applyColours((building) => colorForMinutes(this.minutesOf(building)));
    this.view.requestRender();
    document.body.dataset.services = this.whatIf ? "what-if" : "base";
  }

  render() {
    const select = el(
      "select",
      { id: "services-type", "aria-label": tt("type") },
      ...SERVICE_TYPES.map((s) => el("option", { value: s }, tt(s))),
    );
    select.value = this.type;
    select.addEventListener("change", () => {
      this.type = select.value;
      this.render();
      this.apply();
    });
    const place = el("button", { type: "button", class: "btn", id: "services-place" }, tt(this.placing ? "placing" : "place"));
    place.addEventListener("click", () => {
      this.placing = true;
      place.textContent = tt("placing");
    });
    const clear = el("button", { type: "button", class: "btn ghost", id: "services-clear" }, tt("clear"));
    clear.addEventListener("click", () => {
      this.whatIf = null;
      this.removeCandidateMarker();
      this.render();
      this.apply();
    });
    const legend = el(
      "ul",
      { class: "services-legend" },
      ...BANDS.map((b) => el("li", {}, el("i", { class: "sw", style: `background:${b.color}` }), tt(b.key))),
      el("li", {}, el("i", { class: "sw", style: `background:${NONE_COLOR}` }), tt("none")),
    );
    const lines = [];
    const row = this.summary?.rows?.find((r) => r.scope === "community" && r.type === this.type);
    if (row) lines.push(el("p", { id: "services-covered" }, tt("covered", { covered: row.homes_within_15, total: row.homes })));
    if (this.whatIf?.type === this.type) {
      const gained = this.whatIf.result.types?.[this.type]?.["15"];
      if (gained) {
        lines.push(
          el(
            "p",
            { id: "services-gained", class: "gained" },
            tt("gained", { homes: gained.homes_newly_covered, elderly: gained.elderly_homes_newly_covered }),
          ),
        );
      }
    }
    if (this.base?.config && !this.base.config.network) lines.push(el("p", { class: "estimate" }, tt("estimate")));
    this.container.replaceChildren(
      el("h2", {}, tt("title")),
      el("label", {}, tt("type"), " ", select),
      el("div", { class: "services-actions" }, place, clear),
      legend,
      ...lines,
    );
  }

  /** Local x/y where the pointer meets the ground (z = 0), or null. */
  groundPoint(event) {
    const canvas = this.view.renderer.domElement;
    const rect = canvas.getBoundingClientRect();
    const ndc = new THREE.Vector2(
      ((event.clientX - rect.left) / rect.width) * 2 - 1,
      -((event.clientY - rect.top) / rect.height) * 2 + 1,
    );
    const ray = new THREE.Raycaster();
    ray.setFromCamera(ndc, this.view.camera);
    const hit = new THREE.Vector3();
    if (!ray.ray.intersectPlane(new THREE.Plane(new THREE.Vector3(0, 0, 1), 0), hit)) return null;
    return { x: hit.x + this.view.origin[0], y: hit.y + this.view.origin[1] };
  }

  /** Screen position (CSS pixels in the view) of a local ground point: for tests. */
  screenPointOfGround(x, y) {
    const p = new THREE.Vector3(x - this.view.origin[0], y - this.view.origin[1], 0).project(this.view.camera);
    const { width, height } = this.view.size;
    return { x: ((p.x + 1) / 2) * width, y: ((1 - p.y) / 2) * height };
  }

  onPointerUp(event) {
    if (!this.active || !this.placing) return;
    const point = this.groundPoint(event);
    if (!point) return;
    this.placing = false;
    this.placeAt(point.x, point.y).catch(() => {});
  }

  /** Ask the API what a candidate facility of the chosen type at (x, y) would change. */
  async placeAt(x, y) {
    const type = this.type;
    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    if (this.api.key) headers.Authorization = `Bearer ${this.api.key}`;
    const response = await fetch(this.api.base + this.api.communityPath("/service-circle/scenarios"), {
      method: "POST",
      headers,
      body: JSON.stringify({ add: [{ type, x, y }] }),
      cache: "no-store",
    });
    if (!response.ok) {
      this.render();
      return;
    }
    const result = await response.json();
    const minutes = new Map();
    for (const b of result.buildings ?? []) minutes.set(b.id, b.minutes[type] ?? null);
    this.whatIf = { type, x, y, result, minutes };
    this.showCandidateMarker(x, y);
    this.render();
    this.apply();
  }

  showCandidateMarker(x, y) {
    this.removeCandidateMarker();
    const size = Math.max(3, (this.view.markerScale ?? 1) * 3);
    const mesh = new THREE.Mesh(
      new THREE.ConeGeometry(size, size * 2.5, 16),
      new THREE.MeshBasicMaterial({ color: 0xffffff }),
    );
    mesh.rotation.x = -Math.PI / 2; // point down onto the ground
    mesh.position.set(x - this.view.origin[0], y - this.view.origin[1], size * 1.25);
    this.candidate = mesh;
    this.view.scene.add(mesh);
    this.view.requestRender();
  }

  removeCandidateMarker() {
    if (!this.candidate) return;
    this.view.scene.remove(this.candidate);
    this.candidate.geometry.dispose();
    this.candidate = null;
    this.view.requestRender();
  }
}
