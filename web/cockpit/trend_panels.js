// The two bottom charts. Left: alarms raised and incidents reported per hour
// over 24 h. Right: what matters in the current scene —
//   overview, governance: closed loop per grid over 30 days (/kpis?by=grid);
//   safety, elderly care: active alarms of the scene per building (/live);
//   low-carbon: power now per building (meters' latest values);
//   traffic: occupancy now of each parking sensor.
// Device values are reloaded every few minutes; alarm and incident counts
// also when /live shows the alarms or incidents changed (at most every
// LIST_GAP_MS); the alarm chart follows every /live snapshot.

import { t } from "./i18n.js";
import { drawSceneTrends } from "./scene_trends.js";
import { alarmInScene } from "./scenes.js";
import {
  alarmsByBuilding,
  closedLoopByGrid,
  hourlyCounts,
  parkingNow,
  powerNowByBuilding,
} from "./trends.js";

const CLOSED_COLOR = "#3ee6a0";
const OPEN_COLOR = "#ffb020";

const LIST_GAP_MS = 10 * 1000;

/** What /live says about the lists the counts come from: ids and statuses (pure). */
export function listSignature(snapshot) {
  if (!snapshot?.alarms || !snapshot?.incidents) return null;
  const alarms = snapshot.alarms.map((a) => a.id).sort();
  const incidents = snapshot.incidents.map((i) => `${i.id}:${i.status}`).sort();
  return `${alarms.join(",")}|${incidents.join(",")}`;
}

/** The data of the bottom charts and when to reload it. */
export class TrendData {
  constructor(api, { gapMs = LIST_GAP_MS } = {}) {
    this.api = api;
    this.gapMs = gapMs;
    this.data = null; // {hourly, byGrid, power, parking}, null parts: no data
    this.listsAt = 0;
    this.signature = null;
    this.timer = null;
  }

  /** Everything: counts, closed loop per grid, device values. */
  async loadAll({ devices, names, gridNames, nowMs }) {
    const lists = await this.loadLists({ gridNames, nowMs });
    // With the scene trends (/scenes/…) the low-carbon and traffic charts need
    // no device reads; these are for an API without them.
    const trends = this.api.has("/scenes/energy");
    const power = trends ? null : await powerNowByBuilding(this.api, devices, names);
    const parking = trends ? null : await parkingNow(this.api, devices);
    this.data = { ...lists, power, parking };
    return this.data;
  }

  async loadLists({ gridNames, nowMs }) {
    this.listsAt = nowMs;
    const lists = {
      hourly: await hourlyCounts(this.api, nowMs),
      byGrid: await closedLoopByGrid(this.api, gridNames),
    };
    if (this.data) this.data = { ...this.data, ...lists };
    return lists;
  }

  /**
   * A new snapshot: if its alarms or incidents differ from the last one's,
   * call `reload()` now or once the gap since the last list load has passed.
   */
  noticeSnapshot(snapshot, reload, nowMs) {
    const signature = listSignature(snapshot);
    if (signature === null || signature === this.signature) return;
    const first = this.signature === null;
    this.signature = signature;
    if (first || this.timer) return; // the first one is what the start-up load read
    const wait = Math.max(0, this.listsAt + this.gapMs - nowMs);
    this.timer = setTimeout(() => {
      this.timer = null;
      reload();
    }, wait);
  }
}

function drawHourly(charts, hourly) {
  if (!hourly) {
    charts.setEmpty("left", t("trend.alarms"));
    return;
  }
  const series = [];
  const labels = (hourly.alarms ?? hourly.reports).labels;
  if (hourly.alarms) series.push({ name: t("alarms.title"), counts: hourly.alarms.counts });
  if (hourly.reports) series.push({ name: t("incidents.title"), counts: hourly.reports.counts, type: "line" });
  charts.setHourly("left", `${t("trend.alarms")} / ${t("trend.reports")}`, { labels, series });
}

function drawByGrid(charts, byGrid) {
  const title = t("trend.closed_by_grid");
  if (!byGrid?.categories.length) return charts.setEmpty("right", title);
  return charts.setBars("right", {
    title,
    categories: byGrid.categories,
    stacked: true,
    counts: true,
    series: [
      { name: t("status.closed"), values: byGrid.closed, color: CLOSED_COLOR },
      { name: t("trend.open"), values: byGrid.open, color: OPEN_COLOR },
    ],
  });
}

function drawAlarms(charts, alarms, scene, names) {
  const title = t("trend.alarms_by_building");
  const data = alarmsByBuilding(
    alarms.filter((a) => alarmInScene(a, scene)),
    names,
  );
  if (!data.categories.length) return charts.setEmpty("right", title, t("alarms.empty"));
  return charts.setBars("right", {
    title,
    categories: data.categories,
    stacked: true,
    counts: true,
    series: data.series.map((s) => ({ name: t(`severity.${s.key}`), values: s.values, color: s.color })),
  });
}

function drawValues(charts, title, data, { max, format }) {
  if (!data?.categories.length) return charts.setEmpty("right", title);
  return charts.setBars("right", {
    title,
    categories: data.categories,
    max,
    series: [{ name: title, values: data.values.map((v) => Math.round(v * 10) / 10), format }],
  });
}

/** Whether the scene's chart is drawn from /live (redraw it on each snapshot). */
export function trendFollowsLive(scene) {
  return scene === "safety" || scene === "elderly";
}

/**
 * Draw both charts for a scene; `trends` may be null (not loaded yet).
 * A scene's own trends (`sceneDocs`, scene_trends.js) take the sides they fill.
 */
export function drawTrends(charts, trends, { scene, snapshot, names, sceneDocs = null }) {
  if (!trends) return;
  const own = drawSceneTrends(charts, scene, sceneDocs, names);
  if (!own.left) drawHourly(charts, trends.hourly);
  if (own.right) return;
  if (trendFollowsLive(scene)) drawAlarms(charts, snapshot?.alarms ?? [], scene, names);
  else if (scene === "energy") drawValues(charts, t("trend.power_now"), trends.power, {});
  else if (scene === "traffic") drawValues(charts, t("trend.parking_now"), trends.parking, { max: 100, format: "{c}%" });
  else drawByGrid(charts, trends.byGrid);
}
