// The phone page of residents and grid workers: sign in or join, then the
// resident's report form and reports, or the worker's tasks; one incident's
// detail with its actions; the offline queue. Updates come from
// GET /v1/me/stream (server-sent events), with a slow poll as a safety net.

import { renderActions } from "./actions.js";
import { Api, sender } from "./api.js";
import { applyStatic, initialLang, lang, setLang, t } from "./i18n.js";
import { residentOrder } from "./order.js";
import { PushButton } from "./push.js";
import { OfflineQueue } from "./queue.js";
import { renderDetail, renderList, renderQueue, tickSla } from "./render.js";
import { ReportForm } from "./report.js";
import { IdbStore } from "./store.js";
import { bindAuth } from "./auth.js";
import { TableView } from "./table.js";
import "./table_i18n.js";

const POLL_MS = 30000;
const RETRY_MS = 15000;
const cid = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "");
const api = new Api(cid);
const $ = (id) => document.getElementById(id);

const state = {
  person: null,
  map: null,
  incidents: [],
  detail: null,
  queue: null,
  stream: null,
  heard: [], // the last incident ids the stream named (for the browser tests)
  timers: [],
};
window.commtwinApp = state; // for the browser tests

function show(view) {
  document.body.dataset.view = view;
  for (const section of document.querySelectorAll("main > .view")) section.hidden = section.id !== view;
}

function notice(key) {
  $("notice").textContent = key ? t(key) : "";
  $("notice").hidden = !key;
}

function homeView() {
  return state.person?.role === "resident" ? "resident" : "worker";
}

async function refreshList() {
  if (!state.person) return;
  let r;
  try {
    // A resident follows their reports to the end (closed ones too); a worker, what is open.
    const which = state.person.role === "resident" ? "?status=all&limit=500" : "";
    r = await api.get(`/v1/me/incidents${which}`);
  } catch {
    return; // offline: what is shown stays
  }
  if (r.status === 401) return signedOut("auth.again");
  if (r.status !== 200) return;
  state.incidents = state.person.role === "resident" ? residentOrder(r.body.data) : r.body.data;
  const list = state.person.role === "resident" ? $("my-reports") : $("tasks");
  renderList(list, state.incidents, state.map, openDetail);
  if (state.person.role === "resident") await table.refresh(state.map);
  document.body.dataset.loaded = String(Date.now());
}

async function openDetail(id) {
  let r;
  try {
    r = await api.get(`/v1/me/incidents/${encodeURIComponent(id)}`);
  } catch {
    return;
  }
  if (r.status !== 200) return refreshList();
  let photos = [];
  try {
    const p = await api.get(`/v1/me/incidents/${encodeURIComponent(id)}/photos`);
    if (p.status === 200) photos = Array.isArray(p.body) ? p.body : (p.body?.data ?? []);
  } catch {
    /* offline: no photos shown */
  }
  // The same incident unchanged (a stream echo, a poll): leave the page as it
  // is, so nothing the person is choosing or typing is redrawn under them.
  const seen = `${id}|${r.body.updated_at}|${r.body.events?.length}|${photos.length}|${lang()}`;
  const unchanged = state.detail && seen === state.detailSeen && document.body.dataset.view === "detail";
  state.detail = r.body;
  state.detailSeen = seen;
  if (unchanged) return;
  renderDetail(document, r.body, state.map, photos, deletePhoto);
  renderActions($("actions"), r.body, state.person, enqueue);
  document.body.dataset.detail = id;
  document.body.dataset.detailStatus = r.body.status;
  show("detail");
}

/** Delete a photo this person uploaded (online only: nothing is queued), then redraw. */
async function deletePhoto(photo) {
  if (!state.detail || !window.confirm(t("detail.delete_photo_confirm"))) return;
  const id = state.detail.id;
  let r = null;
  try {
    r = await api.request("DELETE", `/v1/me/incidents/${encodeURIComponent(id)}/photos/${photo.id}`);
  } catch {
    /* offline */
  }
  if (r?.status === 401) return signedOut("auth.again");
  notice(r?.status === 204 || r?.status === 404 ? "" : "detail.delete_failed");
  // Redrawn only if the photos changed: openDetail compares their number.
  if (state.detail?.id === id) await openDetail(id);
}

function closeDetail() {
  state.detail = null;
  delete document.body.dataset.detail;
  delete document.body.dataset.detailStatus;
  show(homeView());
  refreshList();
}

async function showQueue() {
  if (!state.queue) return;
  const items = await state.queue.items();
  renderQueue(document, items, (id) => state.queue.discard(id));
  document.body.dataset.pending = String(items.length);
}

async function flush() {
  if (!state.queue) return;
  const result = await state.queue.flush();
  if (state.queue.needsSignIn) return signedOut("auth.again");
  await showQueue();
  if (result.sent) {
    await refreshList();
    if (state.detail) await openDetail(state.detail.id);
  }
}

async function enqueue(items) {
  for (const item of items) await state.queue.add(item);
  await showQueue();
  await flush();
}

function connState(live) {
  $("conn").textContent = live ? t("conn.live") : t("conn.offline");
  $("conn").className = live ? "conn live" : "conn offline";
}

function openStream() {
  state.stream?.close();
  const source = new EventSource("/v1/me/stream");
  state.stream = source;
  let pending = null;
  source.addEventListener("open", () => connState(true));
  source.addEventListener("incidents", (ev) => {
    const id = JSON.parse(ev.data || "{}").id;
    if (id) state.heard = [...state.heard.slice(-49), id];
    clearTimeout(pending);
    pending = setTimeout(() => {
      refreshList();
      if (state.detail && (!id || id === state.detail.id)) openDetail(state.detail.id);
    }, 200);
  });
  source.addEventListener("closing", () => signedOut("auth.again"));
  source.addEventListener("error", () => {
    connState(false);
    if (source.readyState === EventSource.CLOSED && state.stream === source) {
      state.timers.push(setTimeout(() => state.person && state.stream === source && openStream(), RETRY_MS));
    }
  });
}

async function enter(person) {
  state.person = person;
  $("who").textContent = `${person.login} · ${t(`role.${person.role}`)}`;
  $("who").hidden = false;
  $("signout").hidden = false;
  notice(null);
  try {
    const m = await api.get("/v1/me/map");
    if (m.status === 200) {
      state.map = m.body;
      $("community-name").textContent = m.body.name ?? cid;
    }
  } catch {
    /* offline: the lists show places without a map */
  }
  state.queue = new OfflineQueue(await IdbStore.open(cid, person.account_id), sender(api), {
    onChange: () => showQueue(),
  });
  report.render(state.map);
  show(homeView());
  await showQueue();
  await refreshList();
  openStream();
  push.start(); // shown only where the browser and the server both can
  openFromHash();
  state.timers.push(setInterval(refreshList, POLL_MS));
  state.timers.push(setInterval(flush, RETRY_MS));
  state.timers.push(
    setInterval(() => {
      tickSla(document, state.detail ? [...state.incidents, state.detail] : state.incidents, Date.now());
    }, 1000),
  );
  await flush();
}

function signedOut(reason) {
  state.stream?.close();
  state.stream = null;
  for (const timer of state.timers) clearInterval(timer);
  state.timers = [];
  state.person = null;
  state.queue = null; // kept in IndexedDB: sent after the next sign-in
  api.csrf = null;
  $("who").hidden = true;
  $("signout").hidden = true;
  $("push").hidden = true;
  notice(reason);
  show("auth");
}

// A tapped notification opens /app/{cid}#incident=ID (or messages an open page).
function openFromHash() {
  const match = /^#incident=(.+)$/.exec(location.hash);
  if (!match) return;
  history.replaceState(null, "", location.pathname);
  openDetail(decodeURIComponent(match[1]));
}

const push = new PushButton($("push"), api, cid, { onError: notice });
const report = new ReportForm(document, enqueue);
const table = new TableView(document, api, { show, back: () => show(homeView()) });

function relabel() {
  applyStatic(document);
  if (!state.person) return;
  $("who").textContent = `${state.person.login} · ${t(`role.${state.person.role}`)}`;
  report.render(state.map);
  renderList(state.person.role === "resident" ? $("my-reports") : $("tasks"), state.incidents, state.map, openDetail);
  if (state.detail) openDetail(state.detail.id);
  table.renderList();
  if (table.current) table.open(table.current.id, true);
  showQueue();
}

async function boot() {
  setLang(initialLang());
  applyStatic(document);
  $("community-name").textContent = cid;
  $("lang").addEventListener("click", () => {
    setLang(lang() === "zh" ? "en" : "zh");
    relabel();
  });
  $("back").addEventListener("click", closeDetail);
  $("signout").addEventListener("click", async () => {
    await push.forget();
    await api.signOut().catch(() => {});
    signedOut(null);
  });
  bindAuth(document, api, enter);
  navigator.serviceWorker?.addEventListener("message", (event) => {
    if (event.data?.type === "open-incident" && event.data.incident && state.person) {
      openDetail(event.data.incident);
    }
  });
  window.addEventListener("online", () => {
    connState(true);
    flush();
    showQueue();
  });
  window.addEventListener("offline", () => {
    connState(false);
    showQueue();
  });
  // Without a stored CSRF token there is no session this page can act with: ask first.
  if (api.csrf) {
    try {
      const me = await api.get("/v1/me");
      if (me.status === 200) return enter(me.body);
    } catch {
      /* offline at start: sign in when back */
    }
  }
  signedOut(api.csrf ? "auth.again" : null);
}

boot();
