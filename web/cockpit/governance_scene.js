// The "governance" scene (issue 23): the round table on the big screen, from
// GET /governance with the cockpit key — open topics, upcoming tables, open
// votes, the decisions' action items (open, done, overdue) with the
// closed-loop rate and the participation rate — and the places of suggested
// topics (pending suggestions and topics adopted from them) highlighted on
// the map: their building recoloured, a public-area point marked by a cone.

import * as THREE from "three";
import { el } from "./dom.js";
import { language } from "./i18n.js";

const REFRESH_MS = 10000;
export const HIGHLIGHT_COLOR = "#ff9f1a";

const TEXTS = {
  zh: {
    title: "民情圆桌",
    topics: "待议议题",
    suggested: "系统建议",
    tables: "近期圆桌",
    votes: "表决中",
    actions: "决议落实",
    open: "未完成",
    done: "已完成",
    overdue: "逾期",
    rate: "闭环率",
    participation: "30天居民参与率",
    none: "暂无",
    ballots: "{n}/{of} 户已投",
    due: "期限 {at}",
    reports: "{n} 条报事",
    s_open: "待办",
    s_in_progress: "办理中",
    s_done: "已完成",
    s_cancelled: "已取消",
  },
  en: {
    title: "Round table",
    topics: "Open topics",
    suggested: "Suggested",
    tables: "Upcoming tables",
    votes: "Votes open",
    actions: "Decisions' action items",
    open: "open",
    done: "done",
    overdue: "overdue",
    rate: "closed loop",
    participation: "Participation (30 days)",
    none: "None",
    ballots: "{n}/{of} households voted",
    due: "due {at}",
    reports: "{n} reports",
    s_open: "To do",
    s_in_progress: "In progress",
    s_done: "Done",
    s_cancelled: "Cancelled",
  },
};

export function gt(key, params = {}) {
  const text = (TEXTS[language()] ?? TEXTS.en)[key] ?? TEXTS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

function when(iso) {
  const opts = { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" };
  return new Date(iso).toLocaleString(language() === "zh" ? "zh-CN" : "en-GB", opts);
}

const pct = (rate) => (rate == null ? "–" : `${Math.round(rate * 100)}%`);

/** The places to highlight: buildings and points of suggestions and of topics adopted from one. */
export function highlightedPlaces(governance, suggestions) {
  const buildings = new Set();
  const points = [];
  const add = (p) => {
    if (p.building_id) buildings.add(p.building_id);
    else if (p.x != null && p.y != null) points.push({ x: p.x, y: p.y });
  };
  for (const topic of governance?.open_topics ?? []) if (topic.origin === "suggested") add(topic);
  for (const s of suggestions ?? []) add(s);
  return { buildings, points };
}

export class GovernanceScene {
  constructor(api, view, container, names = () => new Map()) {
    this.api = api;
    this.view = view;
    this.container = container;
    this.names = names;
    this.active = false;
    this.data = null;
    this.suggestions = [];
    this.titles = new Map(); // topic id → title (decided topics too)
    this.cones = [];
    this.timer = null;
    this.material = new THREE.MeshLambertMaterial({ color: HIGHLIGHT_COLOR, emissive: 0x5a2a00 });
  }

  available() {
    return this.api.has("/governance");
  }

  async show(active) {
    this.active = active;
    this.container.hidden = !active;
    clearInterval(this.timer);
    this.timer = null;
    if (!active) {
      this.clearCones();
      return;
    }
    if (!this.available()) return;
    this.timer = setInterval(() => this.refresh().catch(() => {}), REFRESH_MS);
    await this.refresh().catch(() => {});
  }

  async refresh() {
    const data = await this.api.get("/governance");
    const [suggested, decided] = await Promise.all([
      this.api.has("/topics/suggested") ? this.api.get("/topics/suggested").catch(() => null) : null,
      this.api.get("/topics?status=decided&limit=200").catch(() => null),
    ]);
    this.data = data;
    this.suggestions = suggested?.data ?? [];
    for (const topic of [...(decided?.data ?? []), ...data.open_topics]) this.titles.set(topic.id, topic.title);
    if (!this.active) return;
    this.render();
    this.apply();
  }

  placeName(p) {
    if (p.building_id) return this.names().get(p.building_id) ?? p.building_id;
    if (p.grid_id && p.x == null) return p.grid_id;
    return language() === "zh" ? "公共区域" : "public area";
  }

  render() {
    const d = this.data;
    if (!d) return;
    const k = d.actions.kpis;
    const list = (cls, items, row) =>
      el("ul", { class: `list gov-${cls}` }, ...(items.length ? items.map(row) : [el("li", { class: "empty" }, gt("none"))]));
    const topicRow = (topic) =>
      el(
        "li",
        { dataset: { topic: String(topic.id), origin: topic.origin } },
        el("b", {}, topic.title),
        ` · ${this.placeName(topic)} · ${gt("reports", { n: topic.incident_ids.length })}`,
        topic.origin === "suggested" ? el("span", { class: "gov-chip" }, gt("suggested")) : null,
      );
    const suggestionRow = (s) =>
      el("li", { dataset: { suggestion: s.key } }, el("span", { class: "gov-chip" }, gt("suggested")), ` ${this.placeName(s)} · ${gt("reports", { n: s.incident_ids.length })}`);
    const actionRow = (a) =>
      el(
        "li",
        { class: a.overdue ? "overdue" : a.status, dataset: { action: String(a.id), status: a.status, overdue: String(a.overdue) } },
        el("b", {}, a.title),
        ` · ${gt(`s_${a.status}`)} · ${gt("due", { at: when(a.due_at) })}`,
        a.overdue ? el("span", { class: "gov-chip bad" }, gt("overdue")) : null,
        el("small", {}, ` ${this.titles.get(a.topic_id) ?? `#${a.topic_id}`}`),
      );
    this.container.replaceChildren(
      el("h2", {}, gt("title")),
      el(
        "div",
        { class: "gov-kpis", id: "gov-kpis" },
        el("span", {}, gt("open"), " ", el("b", { id: "gov-open" }, String(k.open))),
        el("span", {}, gt("done"), " ", el("b", { id: "gov-done" }, String(k.done))),
        el("span", { class: "bad" }, gt("overdue"), " ", el("b", { id: "gov-overdue" }, String(k.overdue))),
        el("span", {}, gt("rate"), " ", el("b", { id: "gov-rate" }, pct(k.closed_loop_rate))),
      ),
      el("p", { class: "gov-participation" }, `${gt("participation")} `, el("b", { id: "gov-participation" }, pct(d.participation.rate))),
      el("h3", {}, gt("topics")),
      list("topics", d.open_topics, topicRow),
      ...(this.suggestions.length ? [list("suggestions", this.suggestions, suggestionRow)] : []),
      el("h3", {}, gt("tables")),
      list("tables", d.upcoming_tables, (x) => el("li", { dataset: { table: String(x.id) } }, el("b", {}, x.title), ` · ${when(x.starts_at)} · ${x.location ?? ""}`)),
      el("h3", {}, gt("votes")),
      list("votes", d.open_votes, (v) => el("li", { dataset: { vote: String(v.id) } }, `${this.titles.get(v.topic_id) ?? `#${v.topic_id}`} · ${gt("ballots", { n: v.ballots, of: v.concerned_households })}`)),
      el("h3", {}, gt("actions")),
      list("actions", d.actions.data, actionRow),
    );
    document.body.dataset.governance = String(Date.now());
  }

  /** Recolour highlighted buildings (after the status colours) and mark highlighted points. */
  apply() {
    if (!this.active || !this.data) return;
    const { buildings, points } = highlightedPlaces(this.data, this.suggestions);
    const under = this.view.colourOf; // the status colours just applied
    this.view.applyColours((b, i) => (buildings.has(b) ? HIGHLIGHT_COLOR : under(b, i)));
    this.view.colourOf = under; // footprints drawn later take the status colours
    this.clearCones();
    // A beacon over each point: a post from the ground and a cone above the roofs around.
    const size = Math.max(3, (this.view.markerScale ?? 1) * 3);
    const height = 12 * size;
    for (const p of points) {
      const x = p.x - this.view.origin[0];
      const y = p.y - this.view.origin[1];
      const post = new THREE.Mesh(new THREE.CylinderGeometry(size / 6, size / 6, height, 8), this.material);
      post.rotation.x = Math.PI / 2; // along z
      post.position.set(x, y, height / 2);
      const cone = new THREE.Mesh(new THREE.ConeGeometry(size, size * 2.5, 16), this.material);
      cone.rotation.x = -Math.PI / 2; // point down onto the post
      cone.position.set(x, y, height + size * 1.25);
      for (const mesh of [post, cone]) {
        this.cones.push(mesh);
        this.view.scene.add(mesh);
      }
    }
    const marks = [...[...buildings].sort(), ...points.map((p) => `point:${p.x.toFixed(1)},${p.y.toFixed(1)}`)];
    document.body.dataset.governanceHighlight = marks.join(" ");
    this.view.requestRender();
  }

  clearCones() {
    for (const cone of this.cones) {
      this.view.scene.remove(cone);
      cone.geometry.dispose();
    }
    this.cones = [];
    delete document.body.dataset.governanceHighlight;
    this.view.requestRender();
  }

  /** Screen position (CSS pixels in the view) of a local ground point: for tests. */
  screenPointOfGround(x, y) {
    const p = new THREE.Vector3(x - this.view.origin[0], y - this.view.origin[1], 0).project(this.view.camera);
    const { width, height } = this.view.size;
    return { x: ((p.x + 1) / 2) * width, y: ((1 - p.y) / 2) * height };
  }
}
