// The office page's forms: schedule a table, open a vote, record a decision
// with its action items. Each builds its request body and hands it to `submit`.

import { h } from "/app-assets/dom.js";
import { t } from "/app-assets/i18n.js";

const LEVELS = ["estate", "community", "building", "online"];
const PARTICIPANT_ROLES = ["office", "property", "owners_committee", "residents_rep", "department", "resident"];
const OWNER_ROLES = ["property", "office", "owners_committee", "residents_rep", "department", "worker"];

/** A datetime-local value (the browser's time zone) as an ISO instant, or null. */
export function instant(value) {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

function field(label, input) {
  return h("label", {}, h("span", {}, label), input);
}

function select(name, values, textOf) {
  return h("select", { name }, ...values.map((v) => h("option", { value: v }, textOf(v))));
}

function box(summary, cls, form) {
  return h("details", { class: cls }, h("summary", {}, summary), form);
}

/** Schedule a table on the topic: level, title, time, location, participants ("role: name" a line). */
export function tableForm(topic, submit) {
  const form = h(
    "form",
    { class: "schedule" },
    h(
      "div",
      { class: "row" },
      field(t("office.level"), select("level", LEVELS, (v) => t(`table.level.${v}`))),
      field(t("office.table_title"), h("input", { name: "title", required: true, maxlength: 200, value: topic.title })),
    ),
    h(
      "div",
      { class: "row" },
      field(t("office.starts_at"), h("input", { name: "starts_at", type: "datetime-local", required: true })),
      field(t("office.location"), h("input", { name: "location", maxlength: 200 })),
    ),
    field(t("office.participants"), h("textarea", { name: "participants", rows: 4, placeholder: "office: 社区主任\nproperty: 物业经理\nowners_committee: 业委会主任\nresidents_rep: 居民代表" })),
    h("p", { class: "hint" }, t("office.participants_hint", { roles: PARTICIPANT_ROLES.join(", ") })),
    h("button", { type: "submit", class: "btn primary" }, t("office.schedule")),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = form.elements;
    const participants = f.participants.value
      .split("\n")
      .map((line) => line.trim())
      .filter(Boolean)
      .map((line) => {
        const [role, ...name] = line.split(/[:：]/);
        return { role: role.trim(), name: name.join(":").trim() || role.trim() };
      });
    submit({
      level: f.level.value,
      title: f.title.value.trim(),
      starts_at: instant(f.starts_at.value),
      location: f.location.value.trim() || null,
      topic_ids: [topic.id],
      participants,
      building_id: topic.building_id,
      stairwell: topic.stairwell,
      grid_id: topic.grid_id,
      x: topic.x,
      y: topic.y,
    });
  });
  return box(t("office.schedule"), "schedule-box", form);
}

/** Open a vote: at one of the topic's tables (its level and place) or online; closes when. */
export function voteForm(topic, tables, submit) {
  const at = h(
    "select",
    { name: "table" },
    ...tables.map((x) => h("option", { value: x.id }, `${t(`table.level.${x.level}`)} · ${x.title}`)),
    h("option", { value: "" }, t("table.level.online")),
  );
  const form = h(
    "form",
    { class: "open-vote" },
    h(
      "div",
      { class: "row" },
      field(t("office.vote_at"), at),
      field(t("office.closes_at"), h("input", { name: "closes_at", type: "datetime-local", required: true })),
    ),
    h("button", { type: "submit", class: "btn primary" }, t("office.open_vote")),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const table = at.value ? Number(at.value) : null;
    submit({ table_id: table, level: "online", closes_at: instant(form.elements.closes_at.value) });
  });
  return box(t("office.open_vote"), "vote-box", form);
}

/** One action item's inputs: title, owner role, due, place (a building). */
export function actionRow(n) {
  return h(
    "div",
    { class: "row action-row", "data-row": n },
    field(t("office.action_title"), h("input", { name: `a${n}-title`, maxlength: 200 })),
    field(t("office.owner"), select(`a${n}-owner`, OWNER_ROLES, (v) => t(`table.role.${v}`))),
    field(t("office.due"), h("input", { name: `a${n}-due`, type: "datetime-local" })),
    field(t("office.place"), h("input", { name: `a${n}-building`, maxlength: 200, placeholder: "b01" })),
  );
}

/** Record the decision (after the vote), with action items; rows without a title are left out. */
export function decisionForm(topic, votes, tables, submit) {
  const rows = h("div", { class: "action-rows" }, actionRow(0), actionRow(1));
  const more = h("button", { type: "button", class: "btn small" }, t("office.add_action"));
  more.addEventListener("click", () => rows.append(actionRow(rows.children.length)));
  const closed = votes.filter((v) => v.closed);
  const form = h(
    "form",
    { class: "decide" },
    field(t("office.decision"), h("textarea", { name: "body", rows: 3, required: true, maxlength: 5000 })),
    rows,
    more,
    h("button", { type: "submit", class: "btn primary" }, t("office.decide")),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const f = form.elements;
    const actions = [...rows.children]
      .map((row) => row.dataset.row)
      .filter((n) => f[`a${n}-title`].value.trim())
      .map((n) => ({
        title: f[`a${n}-title`].value.trim(),
        owner_role: f[`a${n}-owner`].value,
        due_at: instant(f[`a${n}-due`].value),
        building_id: f[`a${n}-building`].value.trim() || null,
      }));
    submit({
      body: f.body.value.trim(),
      vote_id: closed.length ? closed[closed.length - 1].id : null,
      table_id: tables.length ? tables[tables.length - 1].id : null,
      actions,
    });
  });
  return box(t("office.decide"), "decide-box", form);
}
