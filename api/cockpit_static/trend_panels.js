// The two bottom charts. Left: alarms raised and incidents reported per hour
// over 24 h. Right: what matters in the current scene —
//   overview, governance: closed loop per grid over 30 days (/kpis?by=grid);
//   safety, elderly care: active alarms of the scene per building (/live);
//   low-carbon: power now per building (meters' latest values);
//   traffic: occupancy now of each parking sensor.
// List-based data is reloaded every few minutes; the alarm chart follows
// every /live snapshot.

import { t } from "./i18n.js";
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

/** Everything the charts need from the API, loaded in one go (null parts: no data). */
export async function loadTrends(api, { devices, names, gridNames, nowMs }) {
  return {
    hourly: await hourlyCounts(api, nowMs),
    byGrid: await closedLoopByGrid(api, gridNames),
    power: await powerNowByBuilding(api, devices, names),
    parking: await parkingNow(api, devices),
  };
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

/** Draw both charts for a scene; `trends` may be null (not loaded yet). */
export function drawTrends(charts, trends, { scene, snapshot, names }) {
  if (!trends) return;
  drawHourly(charts, trends.hourly);
  if (trendFollowsLive(scene)) drawAlarms(charts, snapshot?.alarms ?? [], scene, names);
  else if (scene === "energy") drawValues(charts, t("trend.power_now"), trends.power, {});
  else if (scene === "traffic") drawValues(charts, t("trend.parking_now"), trends.parking, { max: 100, format: "{c}%" });
  else drawByGrid(charts, trends.byGrid);
}
