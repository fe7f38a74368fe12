// KPI tiles, the incident list with SLA countdowns and the alarm list and
// ticker. Each render replaces only its own panel's content; countdowns tick
// every second by updating text in place.

import { byId, el, fmtPercent, setText } from "./dom.js";
import { language, t } from "./i18n.js";
import { SEVERITIES, SEVERITY_COLORS, alarmInScene, sortAlarms } from "./scenes.js";
import { byUrgency, clockTime, formatDuration, slaOf } from "./sla.js";

/** "1幢 3F" / "Bldg 1 · 3F" style location of something in a building. */
export function placeText(names, building, storey, unit) {
  if (!building) return "";
  const parts = [names.get(building) ?? building];
  if (storey !== null && storey !== undefined) parts.push(storey < 0 ? `B${-storey}` : `${storey}F`);
  if (unit) parts.push(unit);
  return parts.join(" · ");
}

export function renderKpis(kpis) {
  const k = kpis ?? {};
  setText(byId("kpi-devices-online"), k.devices_online ?? "–");
  setText(byId("kpi-devices-total"), k.devices_total ?? "–");
  const alarms = k.alarms_active ?? {};
  let total = 0;
  for (const severity of SEVERITIES) {
    const n = alarms[severity] ?? 0;
    total += n;
    setText(byId(`kpi-alarms-${severity}`), n);
  }
  setText(byId("kpi-alarms-total"), total);
  setText(byId("kpi-incidents-open"), k.incidents_open ?? "–");
  setText(byId("kpi-incidents-overdue"), k.incidents_overdue ?? "–");
  byId("kpi-incidents-overdue").classList.toggle("bad", (k.incidents_overdue ?? 0) > 0);
  setText(byId("kpi-closed-today"), fmtPercent(k.closed_loop_rate_today));
  setText(byId("kpi-closed-30d"), fmtPercent(k.closed_loop_rate_30d ?? k.closed_loop_rate));
}

/** "4.6 (12)": a mean rating and how many ratings; "–" without any (pure). */
export function ratingText(rating) {
  if (!rating || !Number.isFinite(rating.mean) || !rating.count) return "–";
  return `${rating.mean.toFixed(1)} (${rating.count})`;
}

/** Residents' satisfaction beside the closed-loop rate (/kpis/satisfaction). */
export function renderSatisfaction(body) {
  setText(byId("kpi-sat-today"), ratingText(body?.today));
  setText(byId("kpi-sat-30d"), ratingText(body?.last_30_days));
  byId("kpi-satisfaction").title = t("kpi.satisfaction_hint");
}

function countdownText(sla) {
  if (!sla) return t("incidents.no_sla");
  const phase = t(sla.phase === "respond" ? "incidents.respond" : "incidents.resolve");
  const time = formatDuration(sla.remainingMs);
  return `${phase} ${t(sla.remainingMs < 0 ? "incidents.overdue" : "incidents.left", { t: time })}`;
}

/** Rebuild the incident list (on a new snapshot or scene). */
export function renderIncidents(incidents, names, nowMs, onPick) {
  const list = byId("incident-list");
  const items = byUrgency(incidents, nowMs).map((i) => {
    const sla = slaOf(i, nowMs);
    const countdown = el("span", { class: "sla", dataset: { incident: i.id } }, countdownText(sla));
    countdown.classList.toggle("overdue", Boolean(sla?.overdue));
    return el(
      "li",
      {
        class: `incident${i.overdue ? " overdue" : ""}${i.escalated ? " escalated" : ""}`,
        dataset: { incident: i.id },
        onclick: () => onPick(i.id),
      },
      el("div", { class: "row" }, el("b", {}, i.title || i.category || i.id), countdown),
      el(
        "div",
        { class: "row meta" },
        el("span", {}, t(`status.${i.status}`)),
        el("span", {}, placeText(names, i.building, i.storey, i.unit)),
        el("span", {}, i.assignee ?? ""),
      ),
    );
  });
  list.replaceChildren(...(items.length ? items : [el("li", { class: "empty" }, t("incidents.empty"))]));
  list.incidents = new Map(incidents.map((i) => [i.id, i]));
}

/** Update every countdown's text in place (called each second). */
export function tickCountdowns(nowMs) {
  const list = byId("incident-list");
  for (const node of list.querySelectorAll(".sla")) {
    const incident = list.incidents?.get(node.dataset.incident);
    if (!incident) continue;
    const sla = slaOf(incident, nowMs);
    setText(node, countdownText(sla));
    node.classList.toggle("overdue", Boolean(sla?.overdue));
  }
}

function alarmText(a, names) {
  const where = placeText(names, a.building, a.storey, a.unit);
  return `${t(`severity.${a.severity}`)} · ${a.message || a.rule} · ${a.device}${where ? ` · ${where}` : ""}`;
}

/** The alarm list and the scrolling ticker, for the alarms of the current scene. */
export function renderAlarms(alarms, scene, names) {
  const shown = sortAlarms(alarms.filter((a) => alarmInScene(a, scene)));
  const rows = shown.map((a) =>
    el(
      "li",
      { class: `alarm sev-${a.severity}`, dataset: { alarm: a.id, building: a.building ?? "" } },
      el("i", { class: "dot", style: `background:${SEVERITY_COLORS[a.severity] ?? "#888"}` }),
      el("span", { class: "time" }, clockTime(a.raised_at, language())),
      el("span", { class: "text" }, alarmText(a, names)),
    ),
  );
  byId("alarm-list").replaceChildren(...(rows.length ? rows : [el("li", { class: "empty" }, t("alarms.empty"))]));
  setText(byId("alarm-count"), shown.length);

  const ticker = byId("ticker-track");
  const texts = shown.slice(0, 20).map((a) => el("span", { class: `tick sev-${a.severity}` }, alarmText(a, names)));
  // Two copies so the CSS animation (-50%) loops without a jump.
  ticker.replaceChildren(...texts, ...texts.map((n) => n.cloneNode(true)));
  byId("ticker").classList.toggle("idle", shown.length === 0);
  ticker.style.animationDuration = `${Math.max(20, shown.length * 8)}s`;
}

export function renderUpdated(snapshot) {
  const at = snapshot?.last_update ?? snapshot?.generated_at;
  setText(byId("updated"), at ? t("updated", { t: clockTime(at, language()) }) : "");
}
