// Lists of incidents (a resident's reports, a worker's tasks), one incident's
// detail with its timeline and photos, and the queue panel. Rendering only:
// what the buttons do is main.js's and actions.js's.

import { clockTime, formatDuration, slaOf } from "/cockpit-assets/app/sla.js";
import { lang, t } from "./i18n.js";
import { h } from "./dom.js";
import { drawMap, markOf } from "./map.js";

export function categoryText(category) {
  if (!category) return "";
  const key = `cat.${category}`;
  const text = t(key);
  return text === key ? category : text;
}

export function titleOf(incident) {
  return incident.title || categoryText(incident.category) || incident.id;
}

/** "2幢 · 3层 · 0301", "公共区域" or "未定位"; building names from the map. */
export function placeText(incident, map) {
  if (incident.building) {
    const b = map?.buildings.find((x) => x.id === incident.building);
    const parts = [b?.name ?? incident.building];
    if (incident.storey != null) parts.push(t("place.storey", { n: incident.storey }));
    if (incident.unit) parts.push(incident.unit);
    return parts.join(" · ");
  }
  if (incident.x != null) return t("place.point");
  return t("place.none");
}

/** The SLA line of an incident now: text and whether it is overdue. */
export function slaText(incident, nowMs) {
  const sla = slaOf(incident, nowMs);
  if (!sla) return { text: t("sla.none"), overdue: false };
  const left = formatDuration(sla.remainingMs);
  const phase = t(`sla.${sla.phase}`);
  const text = `${phase} ${sla.overdue ? t("sla.overdue", { t: left }) : t("sla.left", { t: left })}`;
  return { text, overdue: sla.overdue };
}

function statusChip(status) {
  return h("span", { class: `chip status-${status}` }, t(`status.${status}`));
}

/** Fill `list` with one card per incident; `onOpen(id)` when a card is tapped. */
export function renderList(list, incidents, map, onOpen) {
  list.replaceChildren();
  if (!incidents.length) {
    list.append(h("li", { class: "empty" }, t("list.empty")));
    return;
  }
  for (const i of incidents) {
    const sla = h("span", { class: "sla", "data-sla": i.id });
    list.append(
      h(
        "li",
        { class: "incident", "data-incident": i.id, "data-status": i.status },
        h(
          "button",
          { type: "button", class: "open", onclick: () => onOpen(i.id) },
          h("span", { class: "line" }, h("b", {}, titleOf(i)), statusChip(i.status)),
          h("span", { class: "line muted" }, placeText(i, map)),
          sla,
        ),
      ),
    );
  }
  tickSla(list, incidents, Date.now());
}

/** Refresh every countdown of `root` (called each second). */
export function tickSla(root, incidents, nowMs) {
  const byId = new Map(incidents.map((i) => [i.id, i]));
  for (const node of root.querySelectorAll("[data-sla]")) {
    const incident = byId.get(node.dataset.sla);
    if (!incident) continue;
    const { text, overdue } = slaText(incident, nowMs);
    node.textContent = text;
    node.classList.toggle("overdue", overdue);
  }
}

function eventText(e) {
  const key = `event.${e.type}`;
  const label = t(key) === key ? e.type : t(key);
  const rating = e.data?.satisfaction ? ` ★${e.data.satisfaction}` : "";
  return `${label}${rating}`;
}

/** The detail view's texts, map, timeline and photos (actions: actions.js);
 * a photo this person uploaded (`mine`) gets a delete button calling `onDeletePhoto`. */
export function renderDetail(doc, incident, map, photos, onDeletePhoto = null) {
  doc.getElementById("detail-title").textContent = titleOf(incident);
  const meta = doc.getElementById("detail-meta");
  meta.replaceChildren(statusChip(incident.status), ` ${categoryText(incident.category)} · ${incident.id}`);
  const sla = doc.getElementById("detail-sla");
  sla.dataset.sla = incident.id;
  tickSla(sla.parentElement, [incident], Date.now());
  doc.getElementById("detail-text").textContent = incident.description ?? "";
  doc.getElementById("detail-place").textContent = placeText(incident, map);
  const svg = doc.getElementById("detail-map");
  if (map) drawMap(svg, map, { mark: markOf(incident), label: placeText(incident, map) });
  const timeline = doc.getElementById("timeline");
  timeline.replaceChildren(
    ...(incident.events ?? [])
      .filter((e) => e.applied !== false)
      .map((e) =>
        h(
          "li",
          { "data-event": e.type },
          h("time", { datetime: e.ts }, clockTime(e.ts, lang())),
          " ",
          h("b", {}, eventText(e)),
          e.note ? h("span", { class: "note" }, ` ${e.note}`) : null,
        ),
      ),
  );
  doc.getElementById("detail-photo-box").hidden = photos.length === 0;
  const box = doc.getElementById("detail-photos");
  box.replaceChildren(
    ...photos.map((p) =>
      h(
        "figure",
        {},
        h(
          "a",
          { href: p.url, target: "_blank", rel: "noopener", "data-photo": p.id, "data-stage": p.stage ?? "" },
          h("img", { src: p.thumb_url ?? p.url, alt: `${t("detail.photos")} ${p.stage ?? ""}`, loading: "lazy" }),
        ),
        p.mine && onDeletePhoto
          ? h(
              "button",
              { type: "button", class: "btn photo-delete", "data-delete-photo": p.id, onclick: () => onDeletePhoto(p) },
              t("detail.delete_photo"),
            )
          : null,
      ),
    ),
  );
}

function queueLabel(item) {
  if (item.kind === "report") return `${t("queue.report")} · ${item.body?.title || categoryText(item.body?.category)}`;
  if (item.kind === "photo") return `${t("queue.photo")} · ${item.incident ?? ""}`;
  return `${t(`act.${item.body.action}`)} · ${item.incident}`;
}

/** The queue panel: what waits to be sent, and what failed with its reason. */
export function renderQueue(doc, items, onDiscard) {
  const panel = doc.getElementById("queue");
  panel.hidden = items.length === 0;
  doc.getElementById("queue-count").textContent = t("queue.pending", { n: items.length });
  doc.getElementById("queue-offline").hidden = navigator.onLine;
  doc.getElementById("queue-list").replaceChildren(
    ...items.map((item) =>
      h(
        "li",
        { "data-client-id": item.client_id, "data-kind": item.kind, "data-state": item.state },
        h("span", {}, queueLabel(item)),
        item.state === "failed"
          ? h("span", { class: "error" }, ` ${t("queue.failed", { reason: item.error })} `)
          : null,
        item.state === "failed"
          ? h("button", { type: "button", class: "btn small", onclick: () => onDiscard(item.client_id) }, t("queue.discard"))
          : null,
      ),
    ),
  );
}
