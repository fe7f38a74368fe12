// Chinese and English texts of the cockpit. Static texts carry
// data-i18n="key" in the HTML; rendered texts call t(). The choice is kept in
// localStorage; without one it follows the browser's language.

const TEXTS = {
  zh: {
    title: "社区数字孪生驾驶舱",
    "scene.overview": "总览",
    "scene.governance": "基层治理",
    "scene.safety": "安全",
    "scene.elderly": "智慧养老",
    "scene.energy": "低碳",
    "scene.traffic": "交通",
    "scene.services": "生活圈",
    "state.loading": "加载中",
    "state.live": "实时",
    "state.stale": "数据过期",
    "state.stale_detail": "无法连接服务，显示的是 {age} 前的数据，正在重试…",
    "state.noaccess": "无权访问",
    "state.noaccess_detail": "社区“{cid}”不存在，或当前密钥无权访问。",
    "state.needkey": "需要访问密钥",
    "state.needkey_detail": "请输入具有 cockpit:read 权限的 API 密钥。",
    "state.nolive": "实时接口不可用",
    "key.placeholder": "API 密钥",
    "key.submit": "进入",
    "key.forget": "更换密钥",
    "kpi.title": "关键指标",
    "kpi.devices_online": "设备在线",
    "kpi.alarms_active": "活动告警",
    "kpi.incidents_open": "未结事件",
    "kpi.incidents_overdue": "超时事件",
    "kpi.closed_loop": "闭环率",
    "kpi.today": "今日",
    "kpi.d30": "30天",
    "kpi.satisfaction": "满意度",
    "kpi.satisfaction_hint": "居民确认结案时的评分（1–5），括号内为评分数",
    "severity.critical": "紧急",
    "severity.major": "重要",
    "severity.minor": "次要",
    "severity.warning": "提示",
    "status.normal": "正常",
    "status.warning": "预警",
    "status.alarm": "告警",
    "status.offline": "离线",
    "incidents.title": "事件处置",
    "incidents.empty": "暂无未结事件",
    "incidents.respond": "响应",
    "incidents.resolve": "办结",
    "incidents.left": "剩余 {t}",
    "incidents.overdue": "超时 {t}",
    "incidents.no_sla": "无时限",
    "alarms.title": "告警",
    "alarms.empty": "暂无活动告警",
    "trend.alarms": "告警/小时（24小时）",
    "trend.reports": "上报/小时（24小时）",
    "trend.closed_by_grid": "各网格闭环（30天）",
    "trend.open": "未结",
    "trend.alarms_by_building": "活动告警（按楼栋）",
    "trend.power_now": "各楼栋当前功率 kW",
    "trend.parking_now": "停车占用率（当前）%",
    "trend.unavailable": "暂无数据",
    "panel.close": "关闭",
    "building.storeys": "楼层",
    "building.units": "户",
    "building.devices": "设备",
    "building.height": "高度",
    "building.storey": "层",
    "device.online": "在线",
    "device.offline": "离线",
    "device.unknown": "未知",
    "incident.timeline": "处置时间线",
    "incident.photos.report": "居民上报照片",
    "incident.photos.work": "处置照片",
    "incident.status": "状态",
    "incident.assignee": "处置人",
    "incident.location": "位置",
    "incident.category": "类别",
    "priority.low": "低",
    "priority.normal": "普通",
    "priority.high": "高",
    "priority.critical": "紧急",
    "status.reported": "已上报",
    "status.dispatched": "已派单",
    "status.accepted": "已接单",
    "status.resolved": "已办结",
    "status.closed": "已关闭",
    "status.cancelled": "已取消",
    "status.reopened": "已重开",
    "status.escalated": "已升级",
    "legend.title": "图例",
    "updated": "更新于 {t}",
    "lang.switch": "EN",
    "load.failed": "加载失败：{msg}",
    "view.fit": "全景",
    "backdrop.toggle": "实景底图",
    "backdrop.loading": "实景底图加载中…",
    "backdrop.missing": "实景底图不可用：{url} 不存在（{status}）。孪生模型照常显示。",
    "backdrop.malformed": "实景底图不可用：{url} 不是有效的 3D Tiles 瓦片集（{why}）。孪生模型照常显示。",
    "backdrop.unreachable": "实景底图不可用：无法访问 {url}（{why}）。孪生模型照常显示。",
    "backdrop.content": "实景底图的部分瓦片加载失败（{n}）。",
  },
  en: {
    title: "Community Digital Twin Cockpit",
    "scene.overview": "Overview",
    "scene.governance": "Governance",
    "scene.safety": "Safety",
    "scene.elderly": "Elderly care",
    "scene.energy": "Low-carbon",
    "scene.traffic": "Traffic",
    "scene.services": "Services",
    "state.loading": "Loading",
    "state.live": "Live",
    "state.stale": "Stale",
    "state.stale_detail": "Cannot reach the service; showing data from {age} ago, retrying…",
    "state.noaccess": "No access",
    "state.noaccess_detail": "Community “{cid}” does not exist or this key has no access to it.",
    "state.needkey": "Key required",
    "state.needkey_detail": "Enter an API key with the cockpit:read scope.",
    "state.nolive": "Live endpoint unavailable",
    "key.placeholder": "API key",
    "key.submit": "Open",
    "key.forget": "Change key",
    "kpi.title": "Key figures",
    "kpi.devices_online": "Devices online",
    "kpi.alarms_active": "Active alarms",
    "kpi.incidents_open": "Open incidents",
    "kpi.incidents_overdue": "Overdue",
    "kpi.closed_loop": "Closed loop",
    "kpi.today": "Today",
    "kpi.d30": "30 days",
    "kpi.satisfaction": "Satisfaction",
    "kpi.satisfaction_hint": "Residents' ratings (1–5) when they confirmed a closure; the number of ratings in brackets",
    "severity.critical": "Critical",
    "severity.major": "Major",
    "severity.minor": "Minor",
    "severity.warning": "Warning",
    "status.normal": "Normal",
    "status.warning": "Warning",
    "status.alarm": "Alarm",
    "status.offline": "Offline",
    "incidents.title": "Incidents",
    "incidents.empty": "No open incidents",
    "incidents.respond": "Respond",
    "incidents.resolve": "Resolve",
    "incidents.left": "{t} left",
    "incidents.overdue": "{t} overdue",
    "incidents.no_sla": "No deadline",
    "alarms.title": "Alarms",
    "alarms.empty": "No active alarms",
    "trend.alarms": "Alarms per hour (24 h)",
    "trend.reports": "Reports per hour (24 h)",
    "trend.closed_by_grid": "Closed loop by grid (30 days)",
    "trend.open": "Open",
    "trend.alarms_by_building": "Active alarms by building",
    "trend.power_now": "Power now by building, kW",
    "trend.parking_now": "Parking occupancy now, %",
    "trend.unavailable": "No data yet",
    "panel.close": "Close",
    "building.storeys": "Storeys",
    "building.units": "Units",
    "building.devices": "Devices",
    "building.height": "Height",
    "building.storey": "Storey",
    "device.online": "online",
    "device.offline": "offline",
    "device.unknown": "unknown",
    "incident.timeline": "Timeline",
    "incident.photos.report": "Resident's photos",
    "incident.photos.work": "Work photos",
    "incident.status": "Status",
    "incident.assignee": "Assignee",
    "incident.location": "Location",
    "incident.category": "Category",
    "priority.low": "low priority",
    "priority.normal": "normal priority",
    "priority.high": "high priority",
    "priority.critical": "critical",
    "status.reported": "Reported",
    "status.dispatched": "Dispatched",
    "status.accepted": "Accepted",
    "status.resolved": "Resolved",
    "status.closed": "Closed",
    "status.cancelled": "Cancelled",
    "status.reopened": "Reopened",
    "status.escalated": "Escalated",
    "legend.title": "Legend",
    "updated": "Updated {t}",
    "lang.switch": "中文",
    "load.failed": "Failed to load: {msg}",
    "view.fit": "Fit",
    "backdrop.toggle": "Backdrop",
    "backdrop.loading": "Loading the backdrop…",
    "backdrop.missing": "Backdrop unavailable: {url} was not found ({status}). The twin is drawn as usual.",
    "backdrop.malformed": "Backdrop unavailable: {url} is not a valid 3D Tiles tileset ({why}). The twin is drawn as usual.",
    "backdrop.unreachable": "Backdrop unavailable: {url} cannot be reached ({why}). The twin is drawn as usual.",
    "backdrop.content": "Some backdrop tiles failed to load ({n}).",
  },
};

export const LANGUAGES = Object.keys(TEXTS);

/** Merge more texts ({zh: {...}, en: {...}}) from a module of their own. */
export function addTexts(more) {
  for (const [lang, entries] of Object.entries(more)) Object.assign(TEXTS[lang] ?? {}, entries);
}
const STORAGE_KEY = "commtwin.lang";
let current = "zh";
const listeners = new Set();

/** The language to start with: the saved choice, else the browser's. */
export function initialLanguage(saved, browserLanguages) {
  if (LANGUAGES.includes(saved)) return saved;
  for (const tag of browserLanguages || []) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

/** A text in the current language with {name} placeholders filled. */
export function t(key, params = {}) {
  const text = TEXTS[current][key] ?? TEXTS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

export function language() {
  return current;
}

/** Switch language, re-label static texts and tell the renderers. */
export function setLanguage(lang, { save = true } = {}) {
  current = LANGUAGES.includes(lang) ? lang : "en";
  if (save) localStorage.setItem(STORAGE_KEY, current);
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  document.title = t("title");
  for (const fn of listeners) fn(current);
}

export function onLanguageChange(fn) {
  listeners.add(fn);
}

export function startLanguage() {
  const lang = initialLanguage(localStorage.getItem(STORAGE_KEY), navigator.languages);
  setLanguage(lang, { save: false });
}
