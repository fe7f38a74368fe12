// The side panel: one building (storeys, units, devices with latest values)
// or one incident (status and its timeline). Opened by clicking the 3D view
// or a list row; live status inside it follows the snapshot.

import { byId, el, fmtNumber } from "./dom.js";
import { language, t } from "./i18n.js";
import { STATUS_COLORS, statusIn } from "./scenes.js";
import { clockTime } from "./sla.js";

function storeyName(s) {
  if (s.name) return s.name;
  return s.index < 0 ? `B${-s.index}` : `${s.index}F`;
}

function badge(status) {
  return el("span", { class: `badge st-${status}`, style: `background:${STATUS_COLORS[status]}` }, t(`status.${status}`));
}

function latestText(device) {
  const parts = Object.entries(device.latest ?? {}).map(([metric, v]) => {
    const value = typeof v === "object" && v !== null ? v.value : v;
    return `${metric} ${fmtNumber(value, Math.abs(value) < 10 ? 2 : 1)}`;
  });
  return parts.join(" · ");
}

function deviceRow(d) {
  const online = d.online === true ? "online" : d.online === false ? "offline" : "unknown";
  return el(
    "li",
    { class: `device ${online}`, dataset: { device: d.id } },
    el("span", { class: "id" }, d.id),
    el("span", { class: "kind" }, d.kind ?? "?"),
    el("span", { class: `online ${online}` }, t(`device.${online}`)),
    el("span", { class: "latest" }, latestText(d)),
  );
}

export class SidePanel {
  constructor(root, { onClose }) {
    this.root = root;
    this.body = byId("side-body");
    this.title = byId("side-title");
    this.open = null; // {type: "building"|"incident", id}
    byId("side-close").addEventListener("click", () => {
      this.hide();
      onClose();
    });
  }

  hide() {
    this.open = null;
    this.root.hidden = true;
  }

  loading(type, id, title) {
    this.open = { type, id };
    this.title.textContent = title;
    this.body.replaceChildren(el("p", { class: "muted" }, t("state.loading")));
    this.root.hidden = false;
    this.root.dataset.type = type;
    this.root.dataset.id = id;
  }

  failed(message) {
    this.body.replaceChildren(el("p", { class: "error" }, t("load.failed", { msg: message })));
  }

  /** Building detail; `liveBuilding` is this building's record in /live (or null). */
  showBuilding(detail, liveBuilding, scene, focusStorey) {
    const liveStoreys = new Map((liveBuilding?.storeys ?? []).map((s) => [s.index, s]));
    const devicesByStorey = new Map();
    for (const d of detail.devices ?? []) {
      const k = d.storey ?? "none";
      if (!devicesByStorey.has(k)) devicesByStorey.set(k, []);
      devicesByStorey.get(k).push(d);
    }
    const storeys = [...(detail.storeys ?? [])].sort((a, b) => b.index - a.index);
    const summary = el(
      "dl",
      { class: "summary" },
      el("dt", {}, t("building.height")),
      el("dd", {}, `${fmtNumber(detail.height, 1)} m`),
      el("dt", {}, t("building.storeys")),
      el("dd", {}, storeys.length),
      el("dt", {}, t("building.devices")),
      el("dd", {}, `${detail.devices_online ?? "–"} / ${detail.devices_total ?? (detail.devices ?? []).length}`),
      el("dt", {}, t("incident.status")),
      el("dd", {}, badge(statusIn(liveBuilding ?? detail, scene))),
    );
    const rows = storeys.map((s) => {
      const live = liveStoreys.get(s.index) ?? s;
      const devices = devicesByStorey.get(s.index) ?? [];
      const units = (s.units ?? []).map((u) => u.name ?? u.id).join(" ");
      return el(
        "details",
        { class: "storey", open: s.index === focusStorey, dataset: { storey: s.index } },
        el(
          "summary",
          {},
          el("b", {}, storeyName(s)),
          badge(statusIn(live, scene)),
          el("span", { class: "muted" }, `${t("building.devices")} ${devices.length}`),
        ),
        units ? el("p", { class: "units" }, `${t("building.units")}: ${units}`) : null,
        el("ul", { class: "devices" }, devices.map(deviceRow)),
      );
    });
    const elsewhere = devicesByStorey.get("none") ?? [];
    const rest = elsewhere.length ? [el("ul", { class: "devices" }, elsewhere.map(deviceRow))] : [];
    this.body.replaceChildren(summary, ...rows, ...rest);
  }

  /**
   * Incident status and its events, oldest first. Events the closed loop
   * skipped (`applied: false`, e.g. an acceptance before any dispatch) are
   * shown struck through with the reason, so the timeline explains the status.
   */
  showIncident(incident, placeText) {
    const events = [...(incident.events ?? [])].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
    const priority = incident.priority ? t(`priority.${incident.priority}`) : "–";
    const summary = el(
      "dl",
      { class: "summary" },
      el("dt", {}, t("incident.status")),
      el("dd", {}, t(`status.${incident.status}`)),
      el("dt", {}, t("incident.category")),
      el("dd", {}, [incident.category ?? "–", priority].join(" · ")),
      el("dt", {}, t("incident.assignee")),
      el("dd", {}, incident.assignee ?? "–"),
      el("dt", {}, t("incident.location")),
      el("dd", {}, placeText(incident.building, incident.storey, incident.unit) || "–"),
    );
    const timeline = el(
      "ol",
      { class: "timeline" },
      events.map((e) =>
        el(
          "li",
          { class: e.applied === false ? "skipped" : null, dataset: { type: e.type } },
          el("span", { class: "time" }, clockTime(e.ts, language())),
          el("b", {}, t(`status.${e.type}`)),
          el(
            "span",
            { class: "muted" },
            [e.actor, e.assignee, e.note, e.applied === false ? e.reason : null].filter(Boolean).join(" · "),
          ),
        ),
      ),
    );
    const description = incident.description ? [el("p", {}, incident.description)] : [];
    this.photos = el("div", { class: "photos", hidden: true });
    this.body.replaceChildren(summary, ...description, this.photos, el("h3", {}, t("incident.timeline")), timeline);
  }

  /**
   * The open incident's photos: `shots` are {photo, thumb} with thumb an object
   * URL; a click shows the photo itself (`openFull(photo)` resolves to a URL).
   * Residents' report photos first, then the workers'.
   */
  showPhotos(incidentId, shots, openFull) {
    if (this.open?.id !== incidentId || !this.photos || !shots.length) return;
    const byStage = (stage) => shots.filter((s) => s.photo.stage === stage);
    const row = (stage) => {
      const mine = byStage(stage);
      if (!mine.length) return null;
      return el(
        "figure",
        { class: "photo-row", dataset: { stage } },
        el("figcaption", {}, t(`incident.photos.${stage}`)),
        ...mine.map((s) =>
          el("img", {
            class: "photo-thumb",
            src: s.thumb,
            alt: t(`incident.photos.${stage}`),
            dataset: { photo: String(s.photo.id) },
            onclick: async (event) => {
              const url = await openFull(s.photo).catch(() => null);
              if (url) event.target.src = url;
              event.target.classList.add("full");
            },
          }),
        ),
      );
    };
    this.photos.replaceChildren(...[row("report"), row("work")].filter(Boolean));
    this.photos.hidden = false;
  }
}
