// The buttons of one incident, by who is signed in and where the incident
// stands. Every press makes its queue items at once (a client id each, from
// crypto.randomUUID) and hands them to `enqueue`; the queue sends them, now
// or when the phone is back online.

import { t } from "./i18n.js";
import { newItem } from "./queue.js";
import { h } from "./dom.js";

const HANDLERS = new Set(["worker", "property", "office"]);

/** Which actions a role may press on an incident in this status (the server decides for good). */
export function actionsFor(role, status) {
  if (role === "resident") return status === "resolved" ? ["confirm", "reopen"] : [];
  if (!HANDLERS.has(role)) return [];
  if (["reported", "dispatched", "reopened"].includes(status)) {
    return ["accept", "note", "hand_over", "escalate"];
  }
  if (status === "accepted") return ["resolve", "note", "hand_over", "escalate"];
  if (status === "resolved") return ["note"];
  return [];
}

function photoItems(input, incident) {
  return [...(input?.files ?? [])].slice(0, 3).map((file) =>
    newItem("photo", { incident, blob: file, filename: file.name, type: file.type }),
  );
}

/** Fill `box` with the actions of `incident` for `person`; `enqueue(items)` on a press. */
export function renderActions(box, incident, person, enqueue) {
  // A re-render of the same incident (an update arrived) keeps a note being
  // typed and the photos already chosen.
  const same = box.dataset.incident === incident.id;
  const typing = same ? (box.querySelector("#act-note")?.value ?? "") : "";
  const chosen = same ? box.querySelector("#act-photo")?.files : null;
  box.replaceChildren();
  box.dataset.incident = incident.id;
  const actions = actionsFor(person.role, incident.status);
  const handler = HANDLERS.has(person.role);
  if (!actions.length && !handler) return;
  const note = h("textarea", { id: "act-note", rows: 2, maxlength: 2000 });
  note.value = typing;
  const error = h("p", { class: "error", role: "alert", hidden: true });
  box.append(h("label", {}, h("span", {}, t("act.note_label")), note));
  let photo = null;
  if (handler) {
    photo = h("input", { id: "act-photo", type: "file", accept: "image/*", capture: "environment", multiple: true });
    if (chosen?.length) photo.files = chosen;
    box.append(h("label", {}, h("span", {}, t("act.photo")), photo));
  }
  let to = null;
  if (actions.includes("hand_over")) {
    to = h("input", { id: "act-to", autocapitalize: "none" });
    box.append(h("label", {}, h("span", {}, t("act.to_label")), to));
  }
  let rating = null;
  if (actions.includes("confirm")) {
    rating = h("fieldset", { class: "rating" }, h("legend", {}, t("act.rating")));
    for (let n = 1; n <= 5; n += 1) {
      rating.append(
        h("label", { class: "star" }, h("input", { type: "radio", name: "satisfaction", value: n, "aria-label": `${n}` }), `${n}★`),
      );
    }
    box.append(rating);
  }
  const row = h("div", { class: "buttons" });
  const press = (action) => {
    error.hidden = true;
    const body = { action };
    const text = note.value.trim();
    if (text) body.note = text;
    if (action === "confirm") {
      const chosen = rating.querySelector("input:checked");
      if (!chosen) {
        error.textContent = t("act.need_rating");
        error.hidden = false;
        return;
      }
      body.satisfaction = Number(chosen.value);
    }
    if ((action === "note" || action === "reopen") && !text) {
      error.textContent = t("act.need_note");
      error.hidden = false;
      return;
    }
    if (action === "hand_over" && to.value.trim()) body.to = to.value.trim();
    // Photos first: they show what was found or done before the step is taken.
    const items = photoItems(photo, incident.id);
    if (action !== "photo") items.push(newItem("action", { incident: incident.id, body }));
    if (!items.length) return;
    note.value = "";
    if (photo) photo.value = "";
    enqueue(items);
  };
  for (const action of actions) {
    const label = action === "note" ? t("act.add_note") : t(`act.${action}`);
    const primary = ["accept", "resolve", "confirm"].includes(action);
    row.append(
      h("button", { type: "button", class: primary ? "btn primary" : "btn", "data-action": action, onclick: () => press(action) }, label),
    );
  }
  if (handler) {
    row.append(h("button", { type: "button", class: "btn", "data-action": "photo", onclick: () => press("photo") }, t("act.photo")));
  }
  box.append(row, error);
}
