// Data of the bottom charts, from what a cockpit:read key may read: the
// alarm and incident lists, /kpis, device latest values, and /live itself.
// Area /history (power over 24 h) needs the maintainer scope and a screen
// cannot tell its key's scopes, so the page never asks for it: asking would
// only earn a 403 (a console error) on every screen.
//
// Loaders return null when their endpoint is missing or answers with an
// error, so the chart shows "no data" instead of breaking the page.

import { Api } from "./api.js";
import { SEVERITIES, SEVERITY_COLORS } from "./scenes.js";
import { perHour } from "./sla.js";

const DAY_MS = 24 * 3600 * 1000;
const PAGE = 1000;
const MAX_PAGES = 5;
// Latest values are read per device: bound the requests of one refresh.
const MAX_DEVICES = 200;
const PARALLEL = 3; // with /live and /stream, within a browser's 6 connections per host

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
    // 0 = API away (the live state shows that), 4xx/5xx = nothing this round.
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

/**
 * Closed loop per grid over the last 30 days (/kpis?by=grid): closed and
 * still-open incidents per grid, grids named, incidents without a grid last.
 */
export async function closedLoopByGrid(api, gridNames) {
  if (!api.has("/kpis")) return null;
  const body = await optional(() => api.get("/kpis?by=grid"));
  return body === null ? null : kpiBars(body.groups ?? [], gridNames);
}

/** Bar data of /kpis groups (pure). */
export function kpiBars(groups, names) {
  const shown = groups.filter((g) => g.reported > 0);
  return {
    categories: shown.map((g) => (g.key === null ? "–" : (names.get(g.key) ?? g.key))),
    closed: shown.map((g) => g.closed),
    open: shown.map((g) => g.open),
    rate: shown.map((g) => g.closed_loop_rate),
  };
}

/** Active alarms of a scene per building and severity, from /live (pure). */
export function alarmsByBuilding(alarms, names) {
  const buildings = [...new Set(alarms.map((a) => a.building ?? ""))].sort();
  const index = new Map(buildings.map((b, i) => [b, i]));
  const series = SEVERITIES.map((severity) => ({
    key: severity,
    color: SEVERITY_COLORS[severity],
    values: new Array(buildings.length).fill(0),
  }));
  for (const a of alarms) {
    const s = series.find((x) => x.key === a.severity);
    if (s) s.values[index.get(a.building ?? "")] += 1;
  }
  return {
    categories: buildings.map((b) => (b ? (names.get(b) ?? b) : "–")),
    series: series.filter((s) => s.values.some((v) => v > 0)),
  };
}

/** Latest value of `metric` for each device (Map id -> number), a few requests at a time. */
async function latestValues(api, devices, metric) {
  const values = new Map();
  const queue = devices.slice(0, MAX_DEVICES);
  const worker = async () => {
    while (queue.length) {
      const d = queue.shift();
      const detail = await optional(() => api.get(`/devices/${encodeURIComponent(d.id)}`));
      const latest = detail?.latest?.[metric];
      const value = typeof latest === "object" && latest !== null ? latest.value : latest;
      if (Number.isFinite(value)) values.set(d.id, value);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return values;
}

/** Power now per building: the sum of its meters' latest power_kw. */
export async function powerNowByBuilding(api, devices, names) {
  const meters = devices.filter((d) => d.kind === "power_meter" && d.building);
  if (!meters.length || !api.has("/devices/{id}")) return null;
  const latest = await latestValues(api, meters, "power_kw");
  return sumByBuilding(meters, latest, names);
}

/** Per-building sums of device values (pure), buildings in id order. */
export function sumByBuilding(devices, values, names) {
  const sums = new Map();
  for (const d of devices) {
    if (!values.has(d.id)) continue;
    sums.set(d.building, (sums.get(d.building) ?? 0) + values.get(d.id));
  }
  const ids = [...sums.keys()].sort();
  return { categories: ids.map((b) => names.get(b) ?? b), values: ids.map((b) => sums.get(b)) };
}

/** Occupancy now (%) of each parking sensor. */
export async function parkingNow(api, devices) {
  const lots = devices.filter((d) => d.kind === "parking");
  if (!lots.length || !api.has("/devices/{id}")) return null;
  const latest = await latestValues(api, lots, "occupancy");
  const ids = lots.map((d) => d.id).filter((id) => latest.has(id));
  return { categories: ids, values: ids.map((id) => latest.get(id) * 100) };
}
