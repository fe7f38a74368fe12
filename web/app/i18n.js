// Chinese (the default) and English texts of the phone page. Static texts
// carry data-i18n="key" (data-i18n-label for aria-label, data-i18n-ph for
// placeholders); rendered texts call t(). The choice is kept in localStorage
// under the same key as the cockpit's.

const TEXTS = {
  zh: {
    title: "社区服务",
    "lang.switch": "EN",
    "auth.signin": "登录",
    "auth.join": "邀请码注册",
    "auth.login": "用户名",
    "auth.password": "密码",
    "auth.code": "邀请码",
    "auth.submit_signin": "登录",
    "auth.submit_join": "注册并登录",
    "auth.join_hint": "居民凭社区发放的邀请码注册，账号绑定到您的住户。",
    "auth.signout": "退出",
    "auth.again": "登录已过期，请重新登录。",
    "role.resident": "居民",
    "role.worker": "网格员",
    "role.property": "物业",
    "role.office": "社区办公室",
    "report.title": "我要报事",
    "report.category": "类别",
    "report.summary": "标题（可选）",
    "report.description": "情况描述",
    "report.photos": "照片（最多3张）",
    "report.place": "位置",
    "report.place_home": "我家",
    "report.place_map": "在地图上选择（楼栋或公共区域）",
    "report.map_hint": "点击楼栋选择楼栋，点击空地选择公共区域。",
    "report.picked_building": "已选：{name}",
    "report.picked_point": "已选：公共区域",
    "report.storey": "楼层（可选）",
    "report.submit": "提交",
    "report.too_many_photos": "最多3张照片",
    "report.need_text": "请填写情况描述",
    "report.need_place": "请在地图上选择位置",
    "report.queued": "已提交，正在发送…",
    "cat.noise": "噪音扰民",
    "cat.garbage": "垃圾清运",
    "cat.parking": "停车",
    "cat.water_leak": "漏水",
    "cat.elevator": "电梯",
    "cat.lighting": "照明",
    "cat.greening": "绿化",
    "cat.pets": "宠物",
    "cat.security": "安全隐患",
    "cat.facade": "外墙",
    "cat.other": "其他",
    "cat.fire": "火警",
    "cat.gas_leak": "燃气泄漏",
    "cat.fall": "跌倒",
    "cat.sos": "紧急呼叫",
    "cat.care_check": "关爱探访",
    "mine.title": "我的报事",
    "tasks.title": "我的任务",
    "list.empty": "暂无",
    "status.reported": "已上报",
    "status.dispatched": "已派单",
    "status.accepted": "处理中",
    "status.resolved": "待确认",
    "status.closed": "已办结",
    "status.reopened": "已重开",
    "status.cancelled": "已取消",
    "sla.respond": "响应",
    "sla.resolve": "办结",
    "sla.left": "剩余 {t}",
    "sla.overdue": "超时 {t}",
    "sla.none": "无时限",
    "detail.back": "返回",
    "detail.timeline": "进展",
    "detail.photos": "照片",
    "detail.place": "位置",
    "place.point": "公共区域",
    "place.storey": "{n}层",
    "place.none": "未定位",
    "act.accept": "接单",
    "act.note": "备注",
    "act.add_note": "添加备注",
    "act.resolve": "办结",
    "act.hand_over": "转派",
    "act.escalate": "上报升级",
    "act.confirm": "确认解决",
    "act.reopen": "未解决，重开",
    "act.note_label": "说明",
    "act.to_label": "转派给（账号）",
    "act.photo": "添加照片",
    "act.rating": "满意度",
    "act.need_rating": "请先选择满意度",
    "act.need_note": "请先填写说明",
    "event.reported": "上报",
    "event.dispatched": "派单",
    "event.accepted": "接单",
    "event.resolved": "办结",
    "event.closed": "确认办结",
    "event.reopened": "重开",
    "event.cancelled": "取消",
    "event.note": "备注",
    "event.escalated": "升级",
    "event.handed_over": "转派",
    "queue.title": "待发送",
    "queue.pending": "{n} 项待发送",
    "queue.offline": "离线：操作已保存，联网后自动发送",
    "queue.failed": "发送失败：{reason}",
    "queue.discard": "放弃",
    "queue.report": "报事",
    "queue.photo": "照片",
    "conn.live": "实时",
    "conn.offline": "离线",
  },
  en: {
    title: "Community service",
    "lang.switch": "中文",
    "auth.signin": "Sign in",
    "auth.join": "Join with a code",
    "auth.login": "Login",
    "auth.password": "Password",
    "auth.code": "Invite code",
    "auth.submit_signin": "Sign in",
    "auth.submit_join": "Join and sign in",
    "auth.join_hint": "Residents join with the code their community office gave them; the account is bound to their home.",
    "auth.signout": "Sign out",
    "auth.again": "Your session has ended: please sign in again.",
    "role.resident": "Resident",
    "role.worker": "Grid worker",
    "role.property": "Property staff",
    "role.office": "Community office",
    "report.title": "Report a problem",
    "report.category": "Category",
    "report.summary": "Title (optional)",
    "report.description": "What happened",
    "report.photos": "Photos (up to 3)",
    "report.place": "Place",
    "report.place_home": "My home",
    "report.place_map": "Pick on the map (a building or a public area)",
    "report.map_hint": "Tap a building to pick it, or open ground for a public area.",
    "report.picked_building": "Picked: {name}",
    "report.picked_point": "Picked: a public area",
    "report.storey": "Storey (optional)",
    "report.submit": "Send",
    "report.too_many_photos": "At most 3 photos",
    "report.need_text": "Please describe the problem",
    "report.need_place": "Please pick the place on the map",
    "report.queued": "Saved, sending…",
    "cat.noise": "Noise",
    "cat.garbage": "Rubbish",
    "cat.parking": "Parking",
    "cat.water_leak": "Water leak",
    "cat.elevator": "Lift",
    "cat.lighting": "Lighting",
    "cat.greening": "Greenery",
    "cat.pets": "Pets",
    "cat.security": "Safety hazard",
    "cat.facade": "Facade",
    "cat.other": "Other",
    "cat.fire": "Fire",
    "cat.gas_leak": "Gas leak",
    "cat.fall": "Fall",
    "cat.sos": "SOS",
    "cat.care_check": "Care check",
    "mine.title": "My reports",
    "tasks.title": "My tasks",
    "list.empty": "Nothing here",
    "status.reported": "Reported",
    "status.dispatched": "Dispatched",
    "status.accepted": "In progress",
    "status.resolved": "To confirm",
    "status.closed": "Closed",
    "status.reopened": "Reopened",
    "status.cancelled": "Cancelled",
    "sla.respond": "Respond",
    "sla.resolve": "Resolve",
    "sla.left": "{t} left",
    "sla.overdue": "{t} overdue",
    "sla.none": "No deadline",
    "detail.back": "Back",
    "detail.timeline": "Timeline",
    "detail.photos": "Photos",
    "detail.place": "Place",
    "place.point": "Public area",
    "place.storey": "storey {n}",
    "place.none": "No place",
    "act.accept": "Accept",
    "act.note": "Note",
    "act.add_note": "Add note",
    "act.resolve": "Resolve",
    "act.hand_over": "Hand over",
    "act.escalate": "Escalate",
    "act.confirm": "Confirm resolved",
    "act.reopen": "Not solved: reopen",
    "act.note_label": "Note",
    "act.to_label": "Hand over to (login)",
    "act.photo": "Add photo",
    "act.rating": "Satisfaction",
    "act.need_rating": "Choose a rating first",
    "act.need_note": "Write a note first",
    "event.reported": "Reported",
    "event.dispatched": "Dispatched",
    "event.accepted": "Accepted",
    "event.resolved": "Resolved",
    "event.closed": "Confirmed",
    "event.reopened": "Reopened",
    "event.cancelled": "Cancelled",
    "event.note": "Note",
    "event.escalated": "Escalated",
    "event.handed_over": "Handed over",
    "queue.title": "Waiting to send",
    "queue.pending": "{n} waiting to send",
    "queue.offline": "Offline: your actions are kept and sent when you are back online",
    "queue.failed": "Not sent: {reason}",
    "queue.discard": "Discard",
    "queue.report": "Report",
    "queue.photo": "Photo",
    "conn.live": "Live",
    "conn.offline": "Offline",
  },
};

// What residents may report (twin/incidents/categories.py RESIDENT_CATEGORIES).
export const CATEGORIES = [
  "noise", "garbage", "parking", "water_leak", "elevator", "lighting",
  "greening", "pets", "security", "facade", "other",
];

/** More texts (e.g. the round table's, table_i18n.js), merged into both languages. */
export function addTexts(more) {
  for (const l of ["zh", "en"]) Object.assign(TEXTS[l], more[l]);
}

const STORE_KEY = "commtwin.lang";
let current = "zh";

/** zh unless the user chose English on this page or the cockpit. */
export function initialLang(storage = globalThis.localStorage) {
  const saved = storage?.getItem(STORE_KEY);
  return saved === "en" ? "en" : "zh";
}

export function setLang(lang, storage = globalThis.localStorage) {
  current = lang === "en" ? "en" : "zh";
  storage?.setItem(STORE_KEY, current);
}

export function lang() {
  return current;
}

/** The text of `key` with {name} placeholders filled; the key itself if unknown. */
export function t(key, params = {}) {
  const text = TEXTS[current][key] ?? TEXTS.zh[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

/** Fill every static text of `root` in the current language. */
export function applyStatic(root) {
  root.documentElement.lang = current === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-label]")) {
    el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  }
  for (const el of root.querySelectorAll("[data-i18n-ph]")) el.placeholder = t(el.dataset.i18nPh);
  root.title = t("title");
}
