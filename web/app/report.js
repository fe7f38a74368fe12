// The resident's report form: category, text, up to 3 photos, and the place
// (their home by default, or a building / a public-area point picked on the
// map). Submitting makes the report's queue items at once: the report with
// its client id, and each photo waiting for the report's incident id.

import { CATEGORIES, t } from "./i18n.js";
import { drawMap } from "./map.js";
import { newItem } from "./queue.js";

const MAX_PHOTOS = 3;

/** The report body the API takes, from the form's values; or an error text key. */
export function reportBody({ category, title, description, placeMode, picked, storey }) {
  const text = (description ?? "").trim();
  if (!text) return { error: "report.need_text" };
  const body = { category, description: text };
  if (title?.trim()) body.title = title.trim();
  if (placeMode === "home") {
    body.place = { kind: "home" };
  } else if (!picked) {
    return { error: "report.need_place" };
  } else if (picked.kind === "unit") {
    body.place = { kind: "unit", building: picked.building };
    const n = Number.parseInt(storey, 10);
    if (Number.isFinite(n)) body.place.storey = n;
  } else {
    body.place = { kind: "point", x: picked.x, y: picked.y };
  }
  return { body };
}

export class ReportForm {
  constructor(doc, enqueue) {
    this.doc = doc;
    this.form = doc.getElementById("report");
    this.enqueue = enqueue;
    this.map = null;
    this.picked = null;
    this.form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.submit();
    });
    for (const radio of this.form.querySelectorAll("input[name=place]")) {
      radio.addEventListener("change", () => this.showPicker());
    }
  }

  /** Texts in the current language, the home's name, the map. */
  render(map) {
    this.map = map;
    const select = this.form.elements.category;
    const chosen = select.value || CATEGORIES[0];
    select.replaceChildren(
      ...CATEGORIES.map((c) => new Option(t(`cat.${c}`), c, false, c === chosen)),
    );
    const home = map?.home;
    const building = map?.buildings.find((b) => b.id === home?.building);
    this.doc.getElementById("home-name").textContent = home
      ? `(${building?.name ?? home.building} ${home.unit_name ?? home.unit})`
      : "";
    this.showPicker();
  }

  showPicker() {
    const onMap = this.form.elements.place.value === "map";
    this.doc.getElementById("place-picker").hidden = !onMap;
    if (!onMap || !this.map) return;
    const svg = this.doc.getElementById("report-map");
    drawMap(svg, this.map, {
      mark: this.picked?.kind === "unit" ? { building: this.picked.building } : this.picked,
      onPick: (place) => {
        this.picked = place;
        this.showPicker();
      },
      label: t("report.place"),
    });
    const picked = this.doc.getElementById("picked");
    const b = this.map.buildings.find((x) => x.id === this.picked?.building);
    picked.textContent = !this.picked
      ? ""
      : this.picked.kind === "unit"
        ? t("report.picked_building", { name: b?.name ?? this.picked.building })
        : t("report.picked_point");
    this.doc.getElementById("storey-field").hidden = this.picked?.kind !== "unit";
  }

  error(key) {
    const p = this.form.querySelector(".error");
    p.textContent = key ? t(key) : "";
    p.hidden = !key;
  }

  submit() {
    const f = this.form.elements;
    const files = [...f.photos.files];
    if (files.length > MAX_PHOTOS) return this.error("report.too_many_photos");
    const { body, error } = reportBody({
      category: f.category.value,
      title: f.title.value,
      description: f.description.value,
      placeMode: f.place.value,
      picked: this.picked,
      storey: f.storey.value,
    });
    if (error) return this.error(error);
    this.error(null);
    const report = newItem("report", { body });
    const photos = files.map((file) =>
      newItem("photo", { report: report.client_id, blob: file, filename: file.name, type: file.type }),
    );
    this.form.reset();
    this.picked = null;
    this.showPicker();
    this.enqueue([report, ...photos]);
  }
}
