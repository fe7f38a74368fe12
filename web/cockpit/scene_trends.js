// Scene trends for the bottom charts, from the API's /scenes/… endpoints
// (aggregates from the rollups that a cockpit:read key may read, cached by
// the API with an ETag). Each scene tab shows its trends:
//   governance: incidents reported and closed per day (30 days)  | closed loop per grid
//   safety, elderly care: alarms of the scene per hour by severity | active alarms by building
//   low-carbon: grid energy and PV per hour (24 h)   | grid energy and carbon per day (30 days)
//   traffic: occupancy per parking lot per hour (24 h) | gate entries/exits, EV sessions per hour
// The pure functions turn an answer into chart data; SceneTrends loads them.

import { addTexts, t } from "./i18n.js";
import { SEVERITIES, SEVERITY_COLORS } from "./scenes.js";
import { SCENE_TEXTS } from "./scene_texts.js";

addTexts(SCENE_TEXTS);

// What each scene reads: [name, suffix].
export const SCENE_REQUESTS = {
  governance: [["days", "/scenes/governance?span=30d"]],
  safety: [["hours", "/scenes/alarms?scene=safety&span=24h"]],
  elderly: [["hours", "/scenes/alarms?scene=elderly&span=24h"]],
  energy: [
    ["hours", "/scenes/energy?span=24h"],
    ["days", "/scenes/energy?span=30d"],
  ],
  traffic: [["hours", "/scenes/traffic?span=24h"]],
};
const GREEN = "#3ee6a0";
const BLUE = "#4fb3ff";
const AMBER = "#ffb020";
const ROUND = (v) => (v === null || v === undefined ? null : Math.round(v * 100) / 100);

/** "08:00" of an hour period, "12-03" of a day, in the page's time zone. */
export function periodLabel(iso, unit) {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  if (unit === "hour") return `${pad(d.getHours())}:00`;
  if (unit === "day") return `${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}`;
}

function labels(doc) {
  return doc.periods.map((p) => periodLabel(p, doc.unit));
}

/** "kWh/m² (30 days): 1. 2幢 0.09 · 2. 1幢 0.07 …": the top of the buildings' ranking (pure). */
export function rankingNote(buildings, names = new Map(), top = 3) {
  const ranked = (buildings ?? []).filter((b) => b.rank !== null && b.rank !== undefined);
  if (!ranked.length) return undefined;
  ranked.sort((a, b) => a.rank - b.rank);
  const parts = ranked
    .slice(0, top)
    .map((b) => `${b.rank}. ${names.get(b.id) ?? b.name ?? b.id} ${Math.round(b.kwh_per_m2 * 1000) / 1000}`);
  return `${t("trend.ranking")}: ${parts.join(" · ")}`;
}

/** Chart data of a scene's answers (pure): {left, right}, either null when not drawn here. */
export function sceneCharts(scene, docs, names = new Map()) {
  if (!docs) return { left: null, right: null };
  if (scene === "governance" && docs.days) {
    const d = docs.days;
    return {
      left: {
        title: t("trend.incidents_per_day"),
        labels: labels(d),
        series: [
          { name: t("trend.reported"), values: d.reported, type: "bar", color: AMBER },
          { name: t("status.closed"), values: d.closed, type: "line", color: GREEN },
        ],
      },
      right: null,
    };
  }
  if ((scene === "safety" || scene === "elderly") && docs.hours) {
    const d = docs.hours;
    return {
      left: {
        title: t(`trend.${scene}_alarms_per_hour`),
        labels: labels(d),
        stacked: true,
        series: SEVERITIES.map((s) => ({
          name: t(`severity.${s}`),
          values: d.by_severity[s],
          type: "bar",
          color: SEVERITY_COLORS[s],
        })),
      },
      right: null,
    };
  }
  if (scene === "energy") {
    const h = docs.hours;
    const d = docs.days;
    return {
      left: h && {
        title: t("trend.energy_per_hour"),
        labels: labels(h),
        series: [
          { name: t("trend.grid_kwh"), values: h.series.grid_kwh.map(ROUND), type: "bar", color: BLUE },
          { name: t("trend.pv_kwh"), values: h.series.pv_kwh.map(ROUND), type: "line", color: GREEN },
        ],
      },
      right: d && {
        title: t("trend.energy_per_day"),
        labels: labels(d),
        series: [
          { name: t("trend.grid_kwh"), values: d.series.grid_kwh.map(ROUND), type: "bar", color: BLUE },
          { name: t("trend.carbon_kg"), values: d.series.carbon_kg.map(ROUND), type: "line", color: AMBER },
        ],
        note: rankingNote(d.buildings, names),
      },
    };
  }
  if (scene === "traffic" && docs.hours) {
    const d = docs.hours;
    return {
      left: {
        title: t("trend.occupancy_per_hour"),
        labels: labels(d),
        max: 100,
        series: d.lots.map((lot) => ({
          name: lot.id,
          values: lot.occupancy.map((v) => (v === null ? null : Math.round(v * 1000) / 10)),
          type: "line",
        })),
      },
      right: {
        title: t("trend.gates_per_hour"),
        labels: labels(d),
        series: [
          { name: t("trend.entries"), values: d.gates.entries, type: "bar", color: GREEN },
          { name: t("trend.exits"), values: d.gates.exits, type: "bar", color: AMBER },
          { name: t("trend.ev_sessions"), values: d.chargers.sessions, type: "line", color: BLUE },
        ],
        note: t("trend.chargers_now", d.chargers),
      },
    };
  }
  return { left: null, right: null };
}

/** Whether an answer has anything to draw (a trend of zeros still counts: it is data). */
export function hasPeriods(doc) {
  return Array.isArray(doc?.periods) && doc.periods.length > 0;
}

/** Loads the scene trends, revalidating each with its ETag. */
export class SceneTrends {
  constructor(api) {
    this.api = api;
    this.docs = {}; // scene -> {name: answer}
    this.etags = new Map(); // suffix -> [etag, body]
  }

  available() {
    return this.api.has("/scenes/energy");
  }

  async loadScene(scene) {
    const wanted = SCENE_REQUESTS[scene];
    if (!wanted || !this.available()) return null;
    const docs = {};
    for (const [name, suffix] of wanted) {
      if (!this.api.has(suffix.split("?")[0])) continue;
      const held = this.etags.get(suffix);
      try {
        const r = await this.api.request(this.api.communityPath(suffix), { etag: held?.[0] ?? null });
        const body = r.status === 304 ? held[1] : r.body;
        this.etags.set(suffix, [r.etag, body]);
        if (hasPeriods(body)) docs[name] = body;
      } catch (err) {
        if (err.status === undefined) throw err;
        // 0 = API away (the live state shows it), 4xx/5xx: keep what was shown.
        if (held && hasPeriods(held[1])) docs[name] = held[1];
      }
    }
    this.docs[scene] = docs;
    return docs;
  }

  async loadAll() {
    for (const scene of Object.keys(SCENE_REQUESTS)) await this.loadScene(scene);
    return this.docs;
  }
}

function draw(chart, spec) {
  const axis = "#2a3a55";
  const text = "#c9d6ea";
  chart.setOption(
    {
      animation: false,
      title: [
        { text: spec.title, left: 8, top: 4, textStyle: { color: text, fontSize: 13, fontWeight: "normal" } },
        ...(spec.note
          ? [{ text: spec.note, left: 8, bottom: 2, textStyle: { color: "#8aa0bf", fontSize: 11, fontWeight: "normal" } }]
          : []),
      ],
      grid: { left: 44, right: 16, top: 40, bottom: spec.note ? 40 : 28 },
      legend: { type: "scroll", top: 4, right: 8, width: "55%", textStyle: { color: text } },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: spec.labels, axisLine: { lineStyle: { color: axis } }, axisLabel: { color: text } },
      yAxis: { type: "value", max: spec.max, splitLine: { lineStyle: { color: axis } }, axisLabel: { color: text } },
      series: spec.series.map((s) => ({
        name: s.name,
        type: s.type ?? "bar",
        stack: spec.stacked ? "total" : undefined,
        barMaxWidth: 18,
        showSymbol: false,
        connectNulls: false,
        itemStyle: s.color ? { color: s.color } : undefined,
        lineStyle: s.color ? { color: s.color } : undefined,
        data: s.values,
      })),
    },
    true,
  );
}

/** Draw the scene's own trends; says which sides it drew ({left, right}). */
export function drawSceneTrends(charts, scene, docs, names) {
  const specs = sceneCharts(scene, docs, names);
  if (specs.left) draw(charts.left, specs.left);
  if (specs.right) draw(charts.right, specs.right);
  return { left: Boolean(specs.left), right: Boolean(specs.right) };
}
