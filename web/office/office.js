// The office's page to run a round table (issue 23): suggested topics made
// topics, tables scheduled (level, time, agenda, participants), votes opened,
// attendance and minutes recorded, votes closed and counted (the rule and its
// figures), decisions recorded with action items, the minutes as a PDF.
// Signs in with an office account (/v1/session) and acts with its CSRF token.

import { Api } from "/app-assets/api.js";
import { h } from "/app-assets/dom.js";
import { applyStatic, initialLang, lang, setLang, t } from "/app-assets/i18n.js";
import "/app-assets/table_i18n.js";
import { decisionCard, resultBlock, topicPlace, when } from "/app-assets/table.js";
import { decisionForm, tableForm, voteForm } from "./forms.js";
import "./office_i18n.js";

// The matters of art. 278 (docs/roundtable.md): the last three need 3/4 to pass.
const MATTERS = [
  "ordinary", "rules_of_procedure", "management_statute", "owners_committee", "property_manager",
  "use_maintenance_fund", "other_major", "raise_maintenance_fund", "rebuild", "common_parts_use",
];
const cid = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "");
const api = new Api(cid);
const base = `/v1/communities/${encodeURIComponent(cid)}`;
const $ = (id) => document.getElementById(id);
const state = { person: null, map: null, suggestions: [], topics: [], tables: [], votes: {}, decisions: {} };
window.commtwinOffice = state; // for the browser tests

function show(view) {
  document.body.dataset.view = view;
  for (const s of document.querySelectorAll("main > .view")) s.hidden = s.id !== view;
}

function notice(text) {
  $("notice").textContent = text ?? "";
  $("notice").hidden = !text;
}

function reason(r) {
  if (Array.isArray(r.body?.detail)) return r.body.detail.map((d) => `${(d.loc ?? []).join(".")}: ${d.msg}`).join("; ");
  return typeof r.body?.detail === "string" ? r.body.detail : `HTTP ${r.status}`;
}

/** Send a change; on success reload everything, else show the API's reason. */
async function act(method, path, json, okStatus = [200, 201]) {
  let r;
  try {
    r = await api.request(method, base + path, { json });
  } catch {
    notice(t("conn.offline"));
    return null;
  }
  if (!okStatus.includes(r.status)) {
    notice(reason(r));
    return null;
  }
  notice(null);
  await load();
  return r.body;
}

async function load() {
  const get = async (path) => {
    const r = await api.get(base + path);
    if (r.status === 401) throw new Error("signed out");
    return r.status === 200 ? r.body : null;
  };
  const [suggested, topics, tables] = await Promise.all([get("/topics/suggested"), get("/topics?limit=200"), get("/tables?limit=200")]);
  state.suggestions = suggested?.data ?? [];
  state.topics = (topics?.data ?? []).filter((x) => x.status !== "withdrawn");
  state.tables = tables?.data ?? [];
  for (const topic of state.topics) {
    state.votes[topic.id] = (await get(`/topics/${topic.id}/votes`)) ?? [];
    state.decisions[topic.id] = (await get(`/topics/${topic.id}/decisions`)) ?? [];
  }
  render();
  document.body.dataset.loaded = String(Date.now());
}

function render() {
  renderSuggestions();
  $("office-topics").replaceChildren(...(state.topics.length ? state.topics.map(topicCard) : [h("p", { class: "muted" }, t("list.empty"))]));
  $("office-tables").replaceChildren(...(state.tables.length ? state.tables.map(tableCard) : [h("p", { class: "muted" }, t("list.empty"))]));
}

function suggestionPlace(s) {
  return topicPlace({ building_id: s.building_id, grid_id: s.grid_id, x: s.x, y: s.y }, state.map);
}

function renderSuggestions() {
  const list = $("suggestions");
  list.replaceChildren(...state.suggestions.map((s) => {
    const cat = t(`cat.${s.category}`);
    const title = t("office.suggested_title", { cat, place: suggestionPlace(s) });
    const matter = h("select", { name: "matter", class: "matter", "aria-label": t("office.matter") }, ...MATTERS.map((m) => h("option", { value: m }, t(`matter.${m}`))));
    const adopt = () =>
      act("POST", "/topics", {
        title,
        matter: matter.value,
        body: t("office.suggested_body", { n: s.incident_ids.length, cat, place: suggestionPlace(s), from: when(s.first_at), to: when(s.last_at) }),
        suggestion_key: s.key,
        incident_ids: s.incident_ids,
        building_id: s.building_id,
        grid_id: s.building_id ? null : s.grid_id,
        x: s.building_id ? null : s.x,
        y: s.building_id ? null : s.y,
      });
    return h(
      "li",
      { class: "suggestion", "data-key": s.key, "data-category": s.category },
      h("b", {}, title),
      h("p", { class: "muted" }, t("office.suggested_line", { n: s.incident_ids.length, from: when(s.first_at), to: when(s.last_at), places: s.places.join(", ") })),
      h("div", { class: "row" }, h("label", {}, h("span", {}, t("office.matter")), matter), h("button", { type: "button", class: "btn primary adopt", onclick: adopt }, t("office.adopt"))),
    );
  }));
  if (!state.suggestions.length) list.append(h("li", { class: "empty" }, t("list.empty")));
}

function topicCard(topic) {
  const tables = state.tables.filter((x) => x.topic_ids.includes(topic.id));
  const votes = state.votes[topic.id] ?? [];
  const decisions = state.decisions[topic.id] ?? [];
  return h(
    "article",
    { class: "office-topic", "data-topic": topic.id, "data-status": topic.status },
    h("h3", {}, `#${topic.id} ${topic.title}`),
    h("p", { class: "muted" }, `${t(`table.status.${topic.status}`)} · ${t(`matter.${topic.matter}`)} · ${topicPlace(topic, state.map)} · ${t("table.evidence_n", { n: topic.incident_ids.length })}`),
    h("p", {}, topic.body),
    tableForm(topic, (body) => act("POST", "/tables", body)),
    ...votes.map((v) => voteCard(v)),
    voteForm(topic, tables, (body) => act("POST", `/topics/${topic.id}/votes`, body)),
    ...decisions.map((d) => decisionWithControls(d)),
    topic.status === "open" ? decisionForm(topic, votes, tables, (body) => act("POST", `/topics/${topic.id}/decisions`, body)) : null,
  );
}

function voteCard(v) {
  const card = h(
    "div",
    { class: "card vote", "data-vote": v.id, "data-closed": String(v.closed) },
    h("p", {}, h("b", {}, `${t("table.vote")} #${v.id}`), ` · ${t(`table.level.${v.level}`)} · ${v.rule_id} · ${t("table.closes", { at: when(v.closes_at) })}`),
    h("p", { class: "muted" }, t("table.ballots", { n: v.ballots, of: v.concerned_households })),
  );
  if (!v.closed) {
    card.append(h("button", { type: "button", class: "btn close-vote", onclick: () => act("POST", `/votes/${v.id}/close`) }, t("office.close_vote")));
  }
  if (v.result) card.append(resultBlock(v.result));
  return card;
}

function decisionWithControls(d) {
  const card = decisionCard(d, state.map);
  for (const item of card.querySelectorAll("li.action-item")) {
    const a = d.actions.find((x) => String(x.id) === item.dataset.actionId);
    const next = { open: ["in_progress", "done", "cancelled"], in_progress: ["done", "cancelled"], done: ["in_progress"] }[a.status] ?? [];
    item.append(
      h("span", { class: "status-buttons" }, ...next.map((s) =>
        h("button", { type: "button", class: "btn small", "data-to": s, onclick: () => act("PATCH", `/actions/${a.id}`, { status: s }) }, t(`table.astatus.${s}`)),
      )),
    );
  }
  return card;
}

function tableCard(table) {
  const form = h("form", { class: "minutes" });
  const attendance = h("div", { class: "attendance" }, ...table.participants.map((p) =>
    h("label", {}, h("input", { type: "checkbox", name: `p${p.id}`, "data-participant": p.id, checked: p.attended === true }), `${t(`table.role.${p.role}`) ?? p.role} · ${p.name}`),
  ));
  const minutes = h("textarea", { name: "minutes", rows: 4, maxlength: 50000 });
  minutes.value = table.minutes ?? "";
  form.append(
    h("h3", {}, t("office.attendance")),
    attendance,
    h("label", {}, h("span", {}, t("office.minutes")), minutes),
    h("button", { type: "submit", class: "btn" }, t("office.save_minutes")),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    act("PATCH", `/tables/${table.id}`, {
      minutes: minutes.value,
      status: "held",
      attendance: table.participants.map((p) => ({ participant_id: p.id, attended: form.elements[`p${p.id}`].checked })),
    });
  });
  return h(
    "article",
    { class: "office-table", "data-table": table.id, "data-status": table.status },
    h("h3", {}, `${t(`table.level.${table.level}`)} · ${table.title}`),
    h("p", { class: "muted" }, `${when(table.starts_at)} · ${table.location ?? ""} · ${t("office.concerned", { n: table.concerned_households })} · ${t(`table.tstatus.${table.status}`)}`),
    h("p", {}, `${t("office.agenda")}: ${table.topic_ids.map((id) => `#${id} ${state.topics.find((x) => x.id === id)?.title ?? ""}`).join("; ")}`),
    form,
    h("a", { class: "btn pdf", href: `${base}/tables/${table.id}/minutes.pdf`, target: "_blank", rel: "noopener", download: `table-${table.id}-minutes.pdf` }, t("office.pdf")),
  );
}

async function enter(person) {
  if (person.role !== "office") {
    await api.signOut().catch(() => {});
    show("auth");
    notice(t("office.only"));
    return;
  }
  state.person = person;
  $("who").textContent = `${person.login} · ${t("role.office")}`;
  $("who").hidden = false;
  $("signout").hidden = false;
  notice(null);
  const m = await api.get("/v1/me/map").catch(() => null);
  if (m?.status === 200) {
    state.map = m.body;
    $("community-name").textContent = m.body.name ?? cid;
  }
  show("office");
  await load().catch(() => signedOut());
}

function signedOut() {
  state.person = null;
  $("who").hidden = true;
  $("signout").hidden = true;
  show("auth");
}

async function boot() {
  setLang(initialLang());
  applyStatic(document);
  document.title = t("office.title");
  $("community-name").textContent = cid;
  $("lang").addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    applyStatic(document);
    document.title = t("office.title");
    if (state.person) render();
  });
  $("signout").addEventListener("click", async () => {
    await api.signOut().catch(() => {});
    signedOut();
  });
  $("signin").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const error = f.querySelector(".error");
    error.hidden = true;
    const r = await api.signIn(f.login.value.trim(), f.password.value).catch(() => null);
    if (r?.status === 201) return enter(r.body.person);
    error.textContent = r ? reason(r) : t("conn.offline");
    error.hidden = false;
    return undefined;
  });
  if (api.csrf) {
    const me = await api.get("/v1/me").catch(() => null);
    if (me?.status === 200) return enter(me.body);
  }
  signedOut();
  return undefined;
}

boot();
