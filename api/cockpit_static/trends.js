// Data of the trend charts, from the API's list and history endpoints.
// Each loader returns null when its endpoint is missing or refuses this key
// (e.g. history needing a wider scope), so its chart shows "no data" instead
// of breaking the page.

import { Api } from "./api.js";
import { perHour } from "./sla.js";

const DAY_MS = 24 * 3600 * 1000;
const PAGE = 1000;
const MAX_PAGES = 5;

/** Times (ISO) of list items newer than `sinceMs`, reading newest-first pages. */
async function recentTimes(api, suffix, field, sinceMs, extra = {}) {
  const times = [];
  for (let page = 0; page < MAX_PAGES; page++) {
    const body = await api.get(suffix + Api.query({ ...extra, limit: PAGE, offset: page * PAGE }));
    const items = body.data ?? [];
    let older = false;
    for (const item of items) {
      const ms = Date.parse(item[field]);
      if (ms >= sinceMs) times.push(item[field]);
      else older = true;
    }
    if (older || items.length < PAGE) break;
  }
  return times;
}

async function optional(fn) {
  try {
    return await fn();
  } catch (err) {
    // 0 = API away (the live state shows that), 403/404 = not for this key:
    // either way the chart just has no data this round.
    if (err.status !== undefined) return null;
    throw err;
  }
}

/** Alarms raised and incidents reported per hour over the last 24 hours. */
export async function hourlyCounts(api, nowMs) {
  const since = nowMs - DAY_MS;
  const alarms = api.has("/alarms") ? await optional(() => recentTimes(api, "/alarms", "raised_at", since)) : null;
  const reports = api.has("/incidents")
    ? await optional(() =>
        recentTimes(api, "/incidents", "reported_at", since, { from: new Date(since).toISOString() }),
      )
    : null;
  if (alarms === null && reports === null) return null;
  return {
    alarms: alarms === null ? null : perHour(alarms, nowMs),
    reports: reports === null ? null : perHour(reports, nowMs),
  };
}

async function areaHistory(api, params) {
  return api.get(`/history${Api.query({ bucket: "1h", agg: "avg", ...params })}`);
}

/**
 * Hourly power per building over 24 h: a building's average meter reading
 * times its number of reporting meters, i.e. its total kW.
 */
export async function powerByBuilding(api, buildingIds, names, nowMs) {
  if (!api.has("/history") || !buildingIds.length) return null;
  const from = new Date(nowMs - DAY_MS).toISOString();
  const series = [];
  for (const id of buildingIds) {
    const h = await optional(() => areaHistory(api, { building: id, metric: "power_kw", from }));
    if (h === null) return null; // refused for one, refused for all
    if (!h.points?.length) continue;
    series.push({
      name: names.get(id) ?? id,
      points: h.points.filter((p) => p.v !== null).map((p) => [Date.parse(p.t), p.v * Math.max(1, h.devices)]),
    });
  }
  return series;
}

/** Average parking occupancy (%) per hour over 24 h. */
export async function parkingOccupancy(api, nowMs) {
  if (!api.has("/history")) return null;
  const from = new Date(nowMs - DAY_MS).toISOString();
  const h = await optional(() => areaHistory(api, { kind: "parking", metric: "occupancy", from }));
  if (h === null) return null;
  return [{ name: "occupancy", points: h.points.filter((p) => p.v !== null).map((p) => [Date.parse(p.t), p.v * 100]) }];
}

/** Buildings having power meters, from the device list. */
export function buildingsWithKind(devices, kind) {
  return [...new Set(devices.filter((d) => d.kind === kind && d.building).map((d) => d.building))].sort();
}
