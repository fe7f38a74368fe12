// The order of a resident's reports: what waits for them (a resolution to
// confirm) first, then the other open ones, oldest first, then the finished
// ones, the most recent first. (Workers keep the API's order: due first.)

const WAITING = 0;
const OPEN = 1;
const DONE = 2;

function group(incident) {
  if (incident.status === "resolved") return WAITING;
  return incident.status === "closed" || incident.status === "cancelled" ? DONE : OPEN;
}

function ms(iso) {
  const t = Date.parse(iso ?? "");
  return Number.isNaN(t) ? 0 : t;
}

export function residentOrder(incidents) {
  return [...incidents].sort((a, b) => {
    const g = group(a) - group(b);
    if (g !== 0) return g;
    if (group(a) === DONE) {
      return ms(b.closed_at ?? b.cancelled_at ?? b.updated_at) - ms(a.closed_at ?? a.cancelled_at ?? a.updated_at);
    }
    return ms(a.reported_at) - ms(b.reported_at);
  });
}
