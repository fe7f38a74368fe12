// SLA countdowns and time formatting. Pure functions taking "now" as an
// argument so they can be tested and so every row of a list agrees.

const PHASE = { reported: "respond", dispatched: "respond", accepted: "resolve" };

/**
 * The deadline that matters for an incident now: respond_due_at until someone
 * accepts it, then resolve_due_at until it is resolved. Null when there is none.
 */
export function slaOf(incident, nowMs) {
  const phase = PHASE[incident.status];
  if (!phase) return null;
  const due = incident[phase === "respond" ? "respond_due_at" : "resolve_due_at"];
  if (!due) return null;
  const dueMs = Date.parse(due);
  if (Number.isNaN(dueMs)) return null;
  const remainingMs = dueMs - nowMs;
  return { phase, dueMs, remainingMs, overdue: remainingMs < 0 || incident.overdue === true };
}

/** "1:02:03" / "12:34" for a duration; sign dropped. */
export function formatDuration(ms) {
  const total = Math.floor(Math.abs(ms) / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n) => String(n).padStart(2, "0");
  if (h >= 48) return `${Math.floor(h / 24)}d ${h % 24}h`;
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

/** Clock time of an ISO timestamp in the page's locale, e.g. "09:59:58". */
export function clockTime(iso, lang) {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return "";
  return new Date(ms).toLocaleTimeString(lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
}

/** Incidents ordered by urgency: overdue first, then the nearest deadline. */
export function byUrgency(incidents, nowMs) {
  const key = (i) => {
    const sla = slaOf(i, nowMs);
    return sla ? sla.remainingMs : Number.POSITIVE_INFINITY;
  };
  return [...incidents].sort((a, b) => key(a) - key(b));
}

/** Counts per hour over the last `hours` hours, for timestamps in ISO form. */
export function perHour(isoTimes, nowMs, hours = 24) {
  const hourMs = 3600 * 1000;
  const end = Math.floor(nowMs / hourMs) * hourMs + hourMs;
  const start = end - hours * hourMs;
  const counts = new Array(hours).fill(0);
  for (const iso of isoTimes) {
    const ms = Date.parse(iso);
    if (ms >= start && ms < end) counts[Math.floor((ms - start) / hourMs)] += 1;
  }
  const labels = counts.map((_, i) => new Date(start + i * hourMs));
  return { labels, counts };
}
