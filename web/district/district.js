// The district page: one overview of every community of a district.
//
// Data: GET /v1/districts/{id}/overview (polled every POLL_MS with
// If-None-Match) and /stream, whose `overview` events carry the whole new
// overview. The key is the cockpit's (?key=, kept in localStorage, sent as
// Authorization: Bearer), so the drill-down link to a community's cockpit
// opens it with the same key: a district:read key reads every member's cockpit.

import { saveKey, takeKey } from "/cockpit-assets/app/api.js";
import { ChangeStream } from "/cockpit-assets/app/stream.js";

const POLL_MS = 5000;
const TIMEOUT_MS = 8000;
const LANG_KEY = "commtwin.lang";
const STATUSES = ["alarm", "warning", "offline", "normal"];

const TEXTS = {
  zh: {
    title: "街道 / 区县 驾驶舱",
    "lang.switch": "English",
    "kpi.communities": "社区",
    "kpi.devices_online": "在线设备",
    "kpi.alarms_active": "活动告警",
    "kpi.incidents": "未结事件",
    "kpi.overdue": "超时",
    "kpi.loop_today": "今日闭环率",
    "kpi.loop_30d": "30 天闭环率",
    "map.title": "社区分布（按状态着色）",
    "rank.title": "社区排名（1 = 最需关注）",
    "rank.rank": "排名",
    "rank.community": "社区",
    "rank.status": "状态",
    "rank.online": "在线",
    "rank.alarms": "告警 严重/重要/次要/提示",
    "rank.incidents": "未结",
    "rank.overdue": "超时",
    "rank.loop_today": "今日闭环",
    "rank.loop_30d": "30 天闭环",
    "status.alarm": "告警",
    "status.warning": "预警",
    "status.offline": "离线",
    "status.normal": "正常",
    "conn.loading": "加载中",
    "conn.live": "实时",
    "conn.stale": "连接中断",
    "conn.noaccess": "无此街道",
    "conn.needkey": "需要密钥",
    "key.placeholder": "API 密钥（district:read）",
    "key.submit": "打开",
    "msg.needkey": "请输入具有 district:read 权限的 API 密钥。",
    "msg.noaccess": "此密钥无法查看该街道。",
    "open.cockpit": "打开 {name} 驾驶舱",
  },
  en: {
    title: "District cockpit",
    "lang.switch": "中文",
    "kpi.communities": "Communities",
    "kpi.devices_online": "Devices online",
    "kpi.alarms_active": "Active alarms",
    "kpi.incidents": "Open incidents",
    "kpi.overdue": "overdue",
    "kpi.loop_today": "Closed loop today",
    "kpi.loop_30d": "Closed loop 30 d",
    "map.title": "Communities (coloured by status)",
    "rank.title": "Ranking (1 = needs attention first)",
    "rank.rank": "Rank",
    "rank.community": "Community",
    "rank.status": "Status",
    "rank.online": "Online",
    "rank.alarms": "Alarms crit/major/minor/warn",
    "rank.incidents": "Open",
    "rank.overdue": "Overdue",
    "rank.loop_today": "Loop today",
    "rank.loop_30d": "Loop 30 d",
    "status.alarm": "Alarm",
    "status.warning": "Warning",
    "status.offline": "Offline",
    "status.normal": "Normal",
    "conn.loading": "Loading",
    "conn.live": "Live",
    "conn.stale": "Connection lost",
    "conn.noaccess": "No such district",
    "conn.needkey": "Key needed",
    "key.placeholder": "API key (district:read)",
    "key.submit": "Open",
    "msg.needkey": "Enter an API key with the district:read scope.",
    "msg.noaccess": "This key cannot see this district.",
    "open.cockpit": "Open the cockpit of {name}",
  },
};

const state = { lang: "zh", overview: null, etag: null, conn: "loading", key: null, polls: 0 };
window.district = { state };

const byId = (id) => document.getElementById(id);

function t(key, params = {}) {
  const text = TEXTS[state.lang][key] ?? TEXTS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

function initialLanguage() {
  const saved = localStorage.getItem(LANG_KEY);
  if (saved in TEXTS) return saved;
  for (const tag of navigator.languages || []) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (base in TEXTS) return base;
  }
  return "en";
}

function setLanguage(lang, save = true) {
  state.lang = lang in TEXTS ? lang : "en";
  if (save) localStorage.setItem(LANG_KEY, state.lang);
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  document.title = t("title");
  renderConn();
  renderLegend();
  if (state.overview) render(state.overview);
}

const districtId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() ?? "");
const base = `/v1/districts/${encodeURIComponent(districtId)}`;

function percent(rate) {
  return rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(0)}%`;
}

function setText(id, value) {
  const el = byId(id);
  if (el) el.textContent = String(value);
}

function showConn(conn) {
  state.conn = conn;
  document.body.dataset.state = conn;
  renderConn();
  const blocked = conn === "needkey" || conn === "noaccess";
  byId("overlay").hidden = !blocked;
  if (blocked) setText("overlay-text", t(`msg.${conn}`));
}

function renderConn() {
  byId("conn").className = `conn conn-${state.conn}`;
  setText("conn-text", t(`conn.${state.conn}`));
}

function renderLegend() {
  const items = STATUSES.map((s) => {
    const span = document.createElement("span");
    const dot = document.createElement("i");
    dot.className = `st-${s}`;
    span.append(dot, t(`status.${s}`));
    return span;
  });
  byId("legend").replaceChildren(...items);
}

function cockpitHref(row) {
  return row.cockpit ?? `/cockpit/${encodeURIComponent(row.id)}`;
}

/** Place the communities in the map's 1000×700 box (equirectangular, aspect kept). */
export function project(rows, width = 1000, height = 700, pad = 60) {
  const placed = rows.filter((r) => Number.isFinite(r.lon) && Number.isFinite(r.lat));
  if (!placed.length) return new Map();
  const lat0 = placed.reduce((s, r) => s + r.lat, 0) / placed.length;
  const k = Math.cos((lat0 * Math.PI) / 180);
  const xs = placed.map((r) => r.lon * k);
  const ys = placed.map((r) => r.lat);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const span = Math.max(x1 - x0, y1 - y0, 1e-9);
  const scale = Math.min(width - 2 * pad, height - 2 * pad) / span;
  const cx = (width - (x1 - x0) * scale) / 2;
  const cy = (height - (y1 - y0) * scale) / 2;
  const out = new Map();
  placed.forEach((r, i) => out.set(r.id, [cx + (xs[i] - x0) * scale, height - (cy + (ys[i] - y0) * scale)]));
  return out;
}

const SVG = "http://www.w3.org/2000/svg";

function renderMap(rows) {
  const at = project(rows);
  const biggest = Math.max(1, ...rows.map((r) => r.devices_total));
  const spacing = rows.length > 1 ? 560 / Math.sqrt(rows.length) : 80;
  const nodes = [];
  for (const r of rows) {
    const p = at.get(r.id);
    if (!p) continue;
    const link = document.createElementNS(SVG, "a");
    link.setAttribute("href", cockpitHref(r));
    link.setAttribute("data-community", r.id);
    link.setAttribute("aria-label", t("open.cockpit", { name: r.name }));
    const dot = document.createElementNS(SVG, "circle");
    dot.setAttribute("cx", p[0].toFixed(1));
    dot.setAttribute("cy", p[1].toFixed(1));
    const radius = Math.max(8, Math.min(40, spacing * 0.38 * Math.sqrt(r.devices_total / biggest)));
    dot.setAttribute("r", radius.toFixed(1));
    dot.setAttribute("class", `community st-${r.status}`);
    const title = document.createElementNS(SVG, "title");
    title.textContent = `${r.name} · ${t(`status.${r.status}`)} · #${r.rank}`;
    dot.append(title);
    link.append(dot);
    if (rows.length <= 40) {
      const label = document.createElementNS(SVG, "text");
      label.setAttribute("x", p[0].toFixed(1));
      label.setAttribute("y", (p[1] + radius + 15).toFixed(1));
      label.setAttribute("text-anchor", "middle");
      label.textContent = r.name;
      link.append(label);
    }
    nodes.push(link);
  }
  byId("map").replaceChildren(...nodes);
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = String(text);
  if (className) td.className = className;
  return td;
}

function renderTable(rows) {
  const body = rows.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.community = r.id;
    const name = document.createElement("td");
    const a = document.createElement("a");
    a.href = cockpitHref(r);
    a.textContent = r.name;
    a.title = t("open.cockpit", { name: r.name });
    name.append(a);
    const status = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = `badge st-${r.status}`;
    badge.textContent = t(`status.${r.status}`);
    status.append(badge);
    const al = r.alarms_active;
    tr.append(
      cell(r.rank),
      name,
      status,
      cell(`${r.devices_online}/${r.devices_total}`),
      cell(`${al.critical}/${al.major}/${al.minor}/${al.warning}`),
      cell(r.incidents_open),
      cell(r.incidents_overdue, r.incidents_overdue ? "bad" : ""),
      cell(percent(r.closed_loop_rate_today)),
      cell(percent(r.closed_loop_rate_30d)),
    );
    return tr;
  });
  byId("ranking").tBodies[0].replaceChildren(...body);
}

function render(ov) {
  state.overview = ov;
  setText("district-name", ov.name);
  const tot = ov.totals;
  const al = tot.alarms_active;
  setText("t-communities", tot.communities);
  setText("t-devices-online", tot.devices_online);
  setText("t-devices-total", tot.devices_total);
  setText("t-alarms", al.critical + al.major + al.minor + al.warning);
  setText("t-critical", al.critical);
  setText("t-major", al.major);
  setText("t-minor", al.minor);
  setText("t-warning", al.warning);
  setText("t-incidents-open", tot.incidents_open);
  setText("t-incidents-overdue", tot.incidents_overdue);
  setText("t-loop-today", percent(tot.closed_loop_rate_today));
  setText("t-loop-30d", percent(tot.closed_loop_rate_30d));
  renderMap(ov.communities);
  renderTable(ov.communities);
}

function accept(ov) {
  state.etag = ov.etag;
  render(ov);
  showConn("live");
}

async function poll() {
  if (!state.key) return showConn("needkey");
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  const headers = { Authorization: `Bearer ${state.key}` };
  if (state.etag) headers["If-None-Match"] = state.etag;
  try {
    const response = await fetch(`${base}/overview`, { headers, signal: controller.signal, cache: "no-store" });
    state.polls += 1;
    if (response.status === 304) return showConn("live");
    if (response.status === 401 || response.status === 403) return showConn("needkey");
    if (response.status === 404) return showConn("noaccess");
    if (!response.ok) return showConn("stale");
    accept(await response.json());
  } catch {
    showConn("stale");
  } finally {
    clearTimeout(timer);
  }
}

function follow() {
  const stream = new ChangeStream({
    open: (signal) =>
      fetch(`${base}/stream`, {
        headers: { Accept: "text/event-stream", Authorization: `Bearer ${state.key}` },
        signal,
        cache: "no-store",
      }),
    onEvent: (e) => {
      if (e.event === "overview") accept(JSON.parse(e.data));
      else if (e.event === "closing") showConn("needkey");
    },
  });
  stream.start();
  return stream;
}

function tick() {
  const now = new Date();
  setText("clock", now.toLocaleTimeString(state.lang === "zh" ? "zh-CN" : "en-GB", { hour12: false }));
}

async function start() {
  setLanguage(initialLanguage(), false);
  byId("lang").addEventListener("click", () => setLanguage(state.lang === "zh" ? "en" : "zh"));
  byId("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.key = byId("key-input").value.trim() || null;
    saveKey(localStorage, state.key);
    state.etag = null;
    poll().then(() => state.conn === "live" && follow());
  });
  state.key = takeKey(location, history, localStorage);
  tick();
  setInterval(tick, 1000);
  await poll();
  if (state.conn === "live") follow();
  setInterval(poll, POLL_MS);
}

start();
