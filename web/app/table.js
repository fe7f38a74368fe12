// The round table on a resident's phone (issue 23): the topics that concern
// their household, one topic with its evidence and place, its votes (the
// household's one ballot: the last cast before the close counts), the count
// once closed, the decision's action items as they progress, and opinions.
// Reads and acts through /v1/communities/{cid}/... with the session.

import { h } from "./dom.js";
import { lang, t } from "./i18n.js";
import { drawMap } from "./map.js";

const CHOICES = ["yes", "no", "abstain"];

function reason(r) {
  return typeof r.body?.detail === "string" ? r.body.detail : `HTTP ${r.status}`;
}

/** Date and time, e.g. "12/07 09:30", in the page's language. */
export function when(iso) {
  if (!iso) return "";
  const opts = { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" };
  return new Date(iso).toLocaleString(lang() === "zh" ? "zh-CN" : "en-GB", opts);
}

/** "3幢", "网格 g1", "公共区域" of a topic's place. */
export function topicPlace(topic, map) {
  if (topic.building_id) {
    const b = map?.buildings.find((x) => x.id === topic.building_id);
    const name = b?.name ?? topic.building_id;
    return topic.stairwell ? `${name} · ${t("table.stairwell", { s: topic.stairwell })}` : name;
  }
  if (topic.x != null) return t("place.point");
  if (topic.grid_id) return t("table.grid", { g: topic.grid_id });
  return t("table.community");
}

function markOfTopic(topic) {
  if (topic.building_id) return { building: topic.building_id };
  if (topic.x != null && topic.y != null) return { x: topic.x, y: topic.y };
  return null;
}

function pct(part, whole) {
  const w = Number(whole);
  return w ? `${((100 * Number(part)) / w).toFixed(1)}%` : "–";
}

/** The count's rule and its four figures: participating and agreeing, by area and by owners. */
export function resultBlock(r) {
  const row = (label, area, owners) =>
    h(
      "tr",
      {},
      h("th", {}, label),
      h("td", {}, `${area} / ${r.total_area} m² (${pct(area, r.total_area)})`),
      h("td", {}, `${owners} / ${r.total_owners} (${pct(owners, r.total_owners)})`),
    );
  return h(
    "div",
    { class: `result ${r.passed ? "passed" : "failed"}`, "data-passed": String(r.passed) },
    h("p", {}, h("b", {}, t(r.passed ? "table.passed" : "table.failed")), ` · ${r.rule_name}`),
    h("p", { class: "muted" }, `${t("table.rule")}: ${r.rule_id} · ${r.source}`),
    h(
      "table",
      { class: "figures" },
      h("tr", {}, h("th", {}), h("th", {}, t("table.area")), h("th", {}, t("table.owners"))),
      row(t("table.participating"), r.participating_area, r.participating_owners),
      row(t("table.agreeing"), r.yes_area, r.yes_owners),
    ),
    h("p", { class: "muted" }, r.reason),
  );
}

export class TableView {
  constructor(doc, api, { show, back }) {
    this.doc = doc;
    this.api = api;
    this.show = show; // show(viewId)
    this.back = back;
    this.topics = [];
    this.current = null; // the topic shown
    this.map = null;
    const $ = (id) => doc.getElementById(id);
    $("topic-back").addEventListener("click", () => {
      this.current = null;
      this.back();
    });
    $("opinion").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.giveOpinion();
    });
  }

  base() {
    return `/v1/communities/${encodeURIComponent(this.api.cid)}`;
  }

  /** The topics concerning the household: open first, then decided (to follow the actions). */
  async refresh(map) {
    this.map = map ?? this.map;
    let r;
    try {
      r = await this.api.get(`${this.base()}/topics?limit=200`);
    } catch {
      return;
    }
    if (r.status !== 200) return;
    const rank = { open: 0, decided: 1 };
    this.topics = r.body.data
      .filter((x) => x.concerns_me && x.status in rank)
      .sort((a, b) => rank[a.status] - rank[b.status] || b.id - a.id);
    this.renderList();
    if (this.current && this.doc.body.dataset.view === "topic") await this.open(this.current.id, true);
  }

  renderList() {
    const list = this.doc.getElementById("topics");
    list.replaceChildren();
    if (!this.topics.length) {
      list.append(h("li", { class: "empty" }, t("table.none")));
      return;
    }
    for (const topic of this.topics) {
      list.append(
        h(
          "li",
          { class: "topic", "data-topic": topic.id, "data-status": topic.status },
          h(
            "button",
            { type: "button", class: "open", onclick: () => this.open(topic.id) },
            h(
              "span",
              { class: "line" },
              h("b", {}, topic.title),
              h("span", { class: `chip topic-${topic.status}` }, t(`table.status.${topic.status}`)),
            ),
            h("span", { class: "line muted" }, topicPlace(topic, this.map)),
          ),
        ),
      );
    }
  }

  /** One topic with its votes, decisions and opinions; `quiet` keeps a typed opinion. */
  async open(tid, quiet = false) {
    const base = `${this.base()}/topics/${tid}`;
    let topic, votes, decisions, opinions, tables;
    try {
      [topic, votes, decisions, opinions, tables] = await Promise.all([
        ...["", "/votes", "/decisions", "/opinions"].map((s) => this.api.get(base + s)),
        this.api.get(`${this.base()}/tables?limit=200`),
      ]);
    } catch {
      return;
    }
    if (topic.status !== 200) return;
    // A vote as the household sees it: its choice and whether it is in the electorate.
    const mine = await Promise.all(
      (votes.body ?? []).map((v) =>
        this.api.get(`${this.base()}/votes/${v.id}`).then((x) => (x.status === 200 ? x.body : v)),
      ),
    );
    this.current = topic.body;
    const mineTables = (tables.body?.data ?? []).filter((x) => x.topic_ids.includes(tid) && x.status !== "cancelled");
    this.render(topic.body, mine, decisions.body ?? [], opinions.body ?? [], quiet);
    this.renderTables(mineTables);
    this.doc.body.dataset.topic = String(tid);
    this.show("topic");
  }

  render(topic, votes, decisions, opinions, quiet) {
    const $ = (id) => this.doc.getElementById(id);
    $("topic-title").textContent = topic.title;
    $("topic-meta").replaceChildren(
      h("span", { class: `chip topic-${topic.status}` }, t(`table.status.${topic.status}`)),
      ` ${t(`table.origin.${topic.origin}`)} · ${when(topic.created_at)}`,
    );
    $("topic-body").textContent = topic.body;
    const n = topic.incident_ids.length;
    $("topic-evidence").replaceChildren(
      n ? t("table.evidence_n", { n }) : t("table.evidence_none"),
      ...topic.incident_ids.slice(0, 20).map((id) => h("code", { class: "evidence", "data-incident": id }, ` ${id}`)),
    );
    $("topic-place").textContent = topicPlace(topic, this.map);
    if (this.map) drawMap($("topic-map"), this.map, { mark: markOfTopic(topic), label: topicPlace(topic, this.map) });
    $("topic-votes").replaceChildren(...(votes.length ? votes.map((v) => this.voteCard(v)) : [h("p", { class: "muted" }, t("table.no_votes"))]));
    $("topic-decisions").replaceChildren(
      ...(decisions.length ? decisions.map((d) => decisionCard(d, this.map)) : [h("p", { class: "muted" }, t("table.no_decisions"))]),
    );
    $("topic-opinions").replaceChildren(
      ...opinions.map((o) => h("li", { "data-opinion": o.id }, h("time", {}, when(o.created_at)), " ", o.body)),
    );
    const form = $("opinion");
    form.hidden = topic.status !== "open";
    if (!quiet) {
      form.reset();
      form.querySelector(".error").hidden = true;
    }
  }

  /** The tables with this topic on their agenda: level, time, place, households concerned. */
  renderTables(tables) {
    this.doc.getElementById("topic-tables").replaceChildren(
      ...(tables.length
        ? tables.map((x) =>
            h(
              "li",
              { "data-table": x.id, "data-status": x.status },
              h("b", {}, `${t(`table.level.${x.level}`)} · ${x.title}`),
              h("br"),
              h("small", { class: "muted" }, `${when(x.starts_at)}${x.location ? ` · ${x.location}` : ""} · ${t(`table.tstatus.${x.status}`)}`),
            ),
          )
        : [h("li", { class: "muted" }, t("table.no_tables"))]),
    );
  }

  voteCard(v) {
    const open = !v.closed && Date.parse(v.closes_at) > Date.now();
    const card = h("div", {
      class: "card vote",
      "data-vote": v.id,
      "data-closed": String(v.closed),
      "data-my-choice": v.my_choice ?? "",
    });
    card.append(
      h("p", {}, h("b", {}, t("table.vote")), ` · ${t(`table.level.${v.level}`)} · ${t("table.closes", { at: when(v.closes_at) })}`),
      h("p", { class: "muted" }, t("table.ballots", { n: v.ballots, of: v.concerned_households })),
    );
    if (v.my_choice) {
      card.append(
        h("p", { class: "mine" }, t("table.my_choice", { c: t(`table.choice.${v.my_choice}`) }), h("br"), h("small", { class: "muted" }, t("table.last_counts"))),
      );
    }
    if (open && v.concerns_me) {
      const error = h("p", { class: "error", role: "alert", hidden: true });
      const buttons = CHOICES.map((c) =>
        h(
          "button",
          {
            type: "button",
            class: `btn choice choice-${c}`,
            "data-choice": c,
            "aria-pressed": String(v.my_choice === c),
            onclick: () => this.cast(v, c, error),
          },
          t(`table.choice.${c}`),
        ),
      );
      card.append(h("div", { class: "choices" }, ...buttons), error);
    } else if (open && v.concerns_me === false) {
      card.append(h("p", { class: "muted" }, t("table.not_concerned")));
    }
    if (v.result) card.append(resultBlock(v.result));
    return card;
  }

  async cast(vote, choice, error) {
    error.hidden = true;
    let r;
    try {
      r = await this.api.request("PUT", `${this.base()}/votes/${vote.id}/ballot`, { json: { choice } });
    } catch {
      r = { status: 0, body: { detail: t("conn.offline") } };
    }
    if (r.status !== 200) {
      error.textContent = reason(r);
      error.hidden = false;
      return;
    }
    await this.open(vote.topic_id, true);
  }

  async giveOpinion() {
    const form = this.doc.getElementById("opinion");
    const error = form.querySelector(".error");
    const body = form.elements.body.value.trim();
    if (!body || !this.current) return;
    let r;
    try {
      r = await this.api.post(`${this.base()}/topics/${this.current.id}/opinions`, { body });
    } catch {
      r = { status: 0, body: { detail: t("conn.offline") } };
    }
    if (r.status !== 201) {
      error.textContent = reason(r);
      error.hidden = false;
      return;
    }
    await this.open(this.current.id);
  }
}

/** A decision and its action items' progress (status, due, overdue), with the closed-loop rate. */
export function decisionCard(d, map = null) {
  const placeOf = (a) => (a.building_id ? ` · ${map?.buildings.find((b) => b.id === a.building_id)?.name ?? a.building_id}` : "");
  const rate = d.kpis.closed_loop_rate;
  return h(
    "div",
    { class: "card decision", "data-decision": d.id },
    h("p", {}, d.body),
    h("p", { class: "muted" }, t("table.progress", { done: d.kpis.done, total: d.kpis.total - d.kpis.cancelled, rate: rate == null ? "–" : `${Math.round(rate * 100)}%` })),
    h(
      "ul",
      { class: "actions-list" },
      ...d.actions.map((a) =>
        h(
          "li",
          { class: "action-item", "data-action-id": a.id, "data-status": a.status, "data-overdue": String(a.overdue) },
          h("b", {}, a.title),
          " ",
          h("span", { class: `chip action-${a.status}` }, t(`table.astatus.${a.status}`)),
          a.overdue ? h("span", { class: "chip overdue" }, t("table.overdue")) : null,
          h("br"),
          h("small", { class: "muted" }, `${t("table.due", { at: when(a.due_at) })}${a.owner_role ? ` · ${t(`table.role.${a.owner_role}`)}` : ""}${placeOf(a)}`),
        ),
      ),
    ),
  );
}
