// The cockpit page: loads the community once, then follows /live.
//
// Order: language → key → which endpoints exist → buildings (+ a couple of
// building details to pin the local frame) → 3D scene → poll /live every 2 s,
// and at once when /stream announces a new version.
// A 404 at any point means "no such community for this key": everything
// shown is cleared and nothing of another community is ever requested.

import { ApiError } from "./api.js";
import { byId, el, setText } from "./dom.js";
import { language, onLanguageChange, setLanguage, startLanguage, t } from "./i18n.js";
import { LivePoller } from "./live.js";
import { buildModel, frameSampleIds, markersFor, modelOutdated, snapshotFromBuildings } from "./model.js";
import { drawModelled, fetchModelled } from "./model3d.js";
import { api, cid, discovered, loading } from "./early.js";
import {
  placeText,
  renderAlarms,
  renderIncidents,
  renderKpis,
  renderSatisfaction,
  renderUpdated,
  tickCountdowns,
} from "./panels.js";
import { SCENES, alarmInScene, statusIn } from "./scenes.js";
import { SidePanel } from "./sidepanel.js";
import { clockTime } from "./sla.js";
import { refreshState, showState, wireKeyForm } from "./status_ui.js";
import { followStream } from "./stream.js";
import { TrendData, drawTrends, trendFollowsLive } from "./trend_panels.js";
import { SceneTrends } from "./scene_trends.js";

/**
 * The modules that need three.js (~2 MB of JavaScript), imported once the
 * page's requests are on their way: the API works on the buildings while the
 * browser loads and compiles them (issue 24's first frame). ECharts comes
 * after the first frame (startCharts).
 */
function viewModules() {
  return Promise.all([
    import("./scene3d.js"),
    import("./backdrop.js"),
    import("./services_scene.js"),
    import("./governance_scene.js"),
  ]).then(([scene3d, backdrop, services, governance]) => ({
    CommunityScene: scene3d.CommunityScene,
    Backdrop: backdrop.Backdrop,
    ServicesScene: services.ServicesScene,
    GovernanceScene: governance.GovernanceScene,
  }));
}

const TREND_REFRESH_MS = 5 * 60 * 1000;
// Scene trends are cached by the API (30 s for 24 h): a minute keeps them fresh.
const SCENE_REFRESH_MS = 60 * 1000;

const state = {
  cid,
  scene: "overview",
  model: null,
  snapshot: null,
  liveById: new Map(),
  names: new Map(),
  devices: [],
  detail: null, // building detail shown in the side panel
  modelVersion: undefined, // /live's model_version when the model was loaded, if it has one
  reloading: false,
  trends: null,
  satisfaction: null, // /kpis/satisfaction, once loaded
};

let view;
let charts;
let side;
let trendData;
let sceneTrends;
let services;
let governance;
let backdrop;
let ready;
const readyPromise = new Promise((resolve) => {
  ready = resolve;
});

function clearScreen() {
  state.snapshot = null;
  state.liveById = new Map();
  renderKpis({});
  byId("incident-list").replaceChildren();
  byId("alarm-list").replaceChildren();
  byId("ticker-track").replaceChildren();
  backdrop?.configure(null);
  view?.clear();
  view?.setMarkers([]);
  side?.hide();
}

function failWith(error) {
  if (error.status === 404) {
    clearScreen();
    showState("noaccess");
  } else if (error.status === 401 || error.status === 403) {
    clearScreen();
    showState("needkey");
  } else {
    showState("stale");
  }
}

/** Status of a storey in the current scene, from /live (or the collection). */
function storeyStatus(buildingId, index) {
  const b = state.liveById.get(buildingId);
  const storey = b?.storeys?.find((s) => s.index === index);
  return statusIn(storey ?? (b?.storeys ? null : b), state.scene);
}

function incidentInScene() {
  return state.scene === "overview" || state.scene === "governance";
}

function redraw() {
  if (!state.model) return;
  if (state.scene === "services" && services?.base) services.apply();
  else view.applyStatus(storeyStatus);
  governance?.apply(); // the suggested topics' places, over the status colours
  view.setMarkers(
    markersFor(state.model, state.snapshot, state.devices, {
      alarmFilter: (a) => alarmInScene(a, state.scene),
      incidentFilter: incidentInScene,
    }),
  );
  const snap = state.snapshot;
  if (snap?.alarms) renderAlarms(snap.alarms, state.scene, state.names);
  if (snap?.incidents) renderIncidents(snap.incidents, state.names, Date.now(), openIncident);
  if (side.open?.type === "building" && state.detail) {
    side.showBuilding(state.detail, state.liveById.get(state.detail.id), state.scene, side.focusStorey);
  }
}

function onSnapshot(snapshot) {
  if (snapshot.community && snapshot.community !== cid) return; // never show another community
  state.snapshot = snapshot;
  state.liveById = new Map((snapshot.buildings ?? []).map((b) => [b.id, b]));
  if (snapshot.kpis) {
    renderKpis(snapshot.kpis);
    charts?.setClosedLoop(snapshot.kpis.closed_loop_rate_today, snapshot.kpis.closed_loop_rate_30d ?? snapshot.kpis.closed_loop_rate);
  }
  if (snapshot.name) setText(byId("community-name"), snapshot.name);
  renderUpdated(snapshot);
  redraw();
  if (trendFollowsLive(state.scene)) showTrends();
  trendData?.noticeSnapshot(snapshot, () => refreshCounts().catch(() => {}), Date.now());
  document.body.dataset.version = snapshot.version ?? "";
  if (state.modelVersion === undefined) state.modelVersion = snapshot.model_version;
  if (!state.reloading && modelOutdated(state.model, snapshot, state.modelVersion)) {
    reloadModel(snapshot.model_version);
  }
}

async function openBuilding(buildingId, storeyIndex) {
  view.select(buildingId);
  side.focusStorey = storeyIndex;
  side.loading("building", buildingId, state.names.get(buildingId) ?? buildingId);
  try {
    const detail = await api.building(buildingId);
    if (side.open?.id !== buildingId) return; // another click came first
    state.detail = detail;
    side.showBuilding(detail, state.liveById.get(buildingId), state.scene, storeyIndex);
  } catch (err) {
    if (err.status === 404 || err.status === 401) return failWith(err);
    side.failed(err.message);
  }
  return undefined;
}

async function openIncident(incidentId) {
  view.select(null);
  const known = state.snapshot?.incidents?.find((i) => i.id === incidentId);
  side.loading("incident", incidentId, known?.title || incidentId);
  if (!api.has("/incidents/{id}")) {
    if (known) side.showIncident(known, (b, s, u) => placeText(state.names, b, s, u));
    return;
  }
  try {
    const incident = await api.incident(incidentId);
    if (side.open?.id !== incidentId) return;
    side.showIncident(incident, (b, s, u) => placeText(state.names, b, s, u));
  } catch (err) {
    side.failed(err.message);
    return;
  }
  showIncidentPhotos(incidentId).catch(() => {}); // the timeline stands without them
}

/** People's photos of an incident (issue 22), as thumbnails under its summary. */
async function showIncidentPhotos(incidentId) {
  const path = `/incidents/${encodeURIComponent(incidentId)}/photos`;
  if (!api.has("/incidents/{id}/photos")) return;
  const listed = (await api.get(path)).data ?? [];
  const suffix = (photo, thumb) => `${path}/${photo.id}${thumb ? "/thumb" : ""}`;
  const shots = [];
  for (const photo of listed) {
    const blob = await api.image(suffix(photo, true));
    if (blob) shots.push({ photo, thumb: URL.createObjectURL(blob) });
  }
  side.showPhotos(incidentId, shots, async (photo) => {
    const blob = await api.image(suffix(photo, false));
    return blob ? URL.createObjectURL(blob) : null;
  });
}

async function loadDevices() {
  if (!api.has("/devices")) return [];
  try {
    return (await api.get("/devices?limit=10000")).data ?? [];
  } catch {
    return [];
  }
}

function gridNames() {
  return new Map((state.model?.grids ?? []).map((g) => [g.id, g.name || g.id]));
}

async function refreshTrends() {
  state.devices = await loadDevices();
  redraw();
  const context = { devices: state.devices, names: state.names, gridNames: gridNames(), nowMs: Date.now() };
  state.trends = await trendData.loadAll(context);
  showTrends();
}

/** Alarm and incident counts only: /live showed the lists changed. */
async function refreshCounts() {
  refreshSatisfaction().catch(() => {}); // a closure may have brought a rating
  await trendData.loadLists({ gridNames: gridNames(), nowMs: Date.now() });
  state.trends = trendData.data;
  showTrends();
}

/** Residents' ratings of closed incidents, "today" in the browser's time zone. */
async function refreshSatisfaction() {
  if (!api.has("/kpis/satisfaction")) return;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  state.satisfaction = await api.get(`/kpis/satisfaction?tz=${encodeURIComponent(zone)}`);
  renderSatisfaction(state.satisfaction);
}

function showTrends() {
  if (!charts) return; // drawn when the charts start
  const sceneDocs = sceneTrends?.docs[state.scene] ?? null;
  drawTrends(charts, state.trends, { scene: state.scene, snapshot: state.snapshot, names: state.names, sceneDocs });
}

/** Reload the scene trends (the current scene first, so its tab fills at once). */
async function refreshSceneTrends() {
  if (!sceneTrends?.available()) return;
  await sceneTrends.loadScene(state.scene);
  showTrends();
  await sceneTrends.loadAll();
  showTrends();
}

function wireTabs() {
  const tabs = byId("scene-tabs");
  tabs.replaceChildren(
    ...SCENES.map((s) =>
      el("button", { type: "button", class: "tab", dataset: { scene: s, i18n: `scene.${s}` } }, t(`scene.${s}`)),
    ),
  );
  const select = (s) => {
    state.scene = s;
    for (const b of tabs.children) b.classList.toggle("active", b.dataset.scene === s);
    document.body.dataset.scene = s;
    services?.show(s === "services").then(() => redraw());
    governance?.show(s === "governance").then(() => redraw());
    redraw();
    showTrends();
  };
  tabs.addEventListener("click", (e) => {
    const s = e.target.closest("button")?.dataset.scene;
    if (s) select(s);
  });
  select(state.scene);
}

function everySecond() {
  setText(byId("clock"), clockTime(new Date().toISOString(), language()));
  tickCountdowns(Date.now());
  refreshState();
}

/** Build the 3D community from the buildings collection, grids, paths, and the glTF on its way. */
async function showModel(collection, { fit, glb = fetchModelled(api, new URL(location.href)) }) {
  const [details, grids, paths] = await Promise.all([
    // Without details the buildings still draw; only markers may shift.
    Promise.all(frameSampleIds(collection.features ?? []).map((bid) => api.building(bid).catch(() => null))),
    api.has("/grids") ? api.get("/grids").then((g) => g?.features ?? [], () => []) : [],
    api.has("/paths") ? api.get("/paths").then((g) => g?.features ?? [], () => []) : null,
  ]);
  performance.mark("cockpit:details");
  const model = buildModel(collection, details.filter(Boolean), grids);
  state.model = model;
  state.names = new Map(state.model.buildings.map((b) => [b.id, b.name || b.id]));
  // Footprints only when no glTF is coming to replace them (or it fails: drawModelled).
  view.setModel(state.model, { fit, footprints: !glb });
  if (paths) view.setPaths(paths);
  performance.mark("cockpit:scene");
  const outcome = await drawModelled(view, state.model, glb);
  performance.mark("cockpit:buildings");
  if (state.model === model) document.body.dataset.buildings = outcome;
}

/** The community was re-imported (buildings added or removed): rebuild, keep the camera. */
async function reloadModel(modelVersion) {
  state.reloading = true;
  try {
    await showModel(await api.buildings(), { fit: false });
    state.modelVersion = modelVersion;
    redraw();
  } catch {
    // Next snapshot tries again.
  } finally {
    state.reloading = false;
  }
}

/**
 * The gauge and trend charts (ECharts, ~1 MB), started once the 3D view has
 * drawn its first frame with the buildings: initialising them competed with it.
 */
async function startCharts() {
  // After the next frame (the 3D view renders in it), or a second in a hidden tab without frames.
  await new Promise((resolve) => {
    requestAnimationFrame(() => setTimeout(resolve, 0));
    setTimeout(resolve, 1000);
  });
  const { Charts } = await import("./charts.js");
  charts = new Charts({ gauge: byId("gauge"), trendLeft: byId("trend-left"), trendRight: byId("trend-right") });
  const kpis = state.snapshot?.kpis;
  charts.setClosedLoop(kpis?.closed_loop_rate_today ?? null, kpis?.closed_loop_rate_30d ?? kpis?.closed_loop_rate ?? null);
  showTrends();
}

async function boot() {
  startLanguage();
  wireKeyForm();
  byId("lang").addEventListener("click", () => setLanguage(language() === "zh" ? "en" : "zh"));
  byId("fit").addEventListener("click", () => view?.fit());
  setText(byId("community-name"), cid);
  showState("loading", { cid });
  // The requests went out first (early.js): the API works on them while
  // three.js loads and the 3D view starts.
  const { glb } = await discovered;
  const modules = await viewModules();
  performance.mark("cockpit:modules");
  side = new SidePanel(byId("side"), { onClose: () => view.select(null) });
  view = new modules.CommunityScene(byId("view"), {
    onPickBuilding: (b, s) => openBuilding(b, s),
    onPickIncident: (i) => openIncident(i),
  });
  backdrop = new modules.Backdrop(view, { button: byId("backdrop-toggle"), message: byId("backdrop-msg") });
  performance.mark("cockpit:view");
  wireTabs();
  onLanguageChange(() => {
    if (services?.active) services.render();
    if (governance?.active) governance.render();
    redraw();
    showTrends();
    charts?.setClosedLoop(state.snapshot?.kpis?.closed_loop_rate_today, state.snapshot?.kpis?.closed_loop_rate_30d);
    if (state.satisfaction) renderSatisfaction(state.satisfaction);
    renderUpdated(state.snapshot);
  });
  everySecond();
  setInterval(everySecond, 1000);

  trendData = new TrendData(api);
  sceneTrends = new SceneTrends(api);
  let collection;
  try {
    const [community, buildings] = await loading;
    performance.mark("cockpit:collection");
    setText(byId("community-name"), community.name || cid);
    collection = buildings;
  } catch (err) {
    failWith(err instanceof ApiError ? err : new ApiError(0, String(err)));
    await startCharts(); // empty, as the page shows them without data
    return ready(false);
  }
  services = new modules.ServicesScene(api, view, byId("services-panel"));
  governance = new modules.GovernanceScene(api, view, byId("governance-panel"), () => state.names);
  if (state.scene === "governance") governance.show(true);
  await showModel(collection, { fit: true, glb });
  const chartsStarted = startCharts();
  onSnapshot(snapshotFromBuildings(cid, collection));
  refreshSatisfaction().catch(() => {});
  if (api.has("/backdrop")) {
    // A community without one answers {url: null}; a failure leaves the twin as it is.
    backdrop.configure(await api.get("/backdrop").catch(() => null));
  }

  const liveAvailable = api.has("/live");
  const poller = new LivePoller({
    fetchLive: liveAvailable
      ? (etag) => api.live(etag)
      : async () => ({ status: 200, etag: null, body: snapshotFromBuildings(cid, await api.buildings()) }),
    onSnapshot,
    // The collection fallback is heavier than /live and changes less: poll it slower.
    intervalMs: liveAvailable ? undefined : 5000,
    onState: (s, info) => {
      if (s === "noaccess" || s === "needkey") failWith(info.error);
      else showState(s, { lastOkMs: info.lastOkMs });
    },
  });
  poller.start();
  if (liveAvailable && api.has("/stream")) followStream(api, poller);
  refreshTrends().catch(() => {});
  setInterval(() => refreshTrends().catch(() => {}), TREND_REFRESH_MS);
  refreshSceneTrends().catch(() => {});
  setInterval(() => refreshSceneTrends().catch(() => {}), SCENE_REFRESH_MS);
  await chartsStarted;
  ready(true);
  return undefined;
}

// A small handle for diagnostics from the browser console (and browser tests).
window.cockpit = {
  state,
  ready: readyPromise,
  get view() {
    return view;
  },
  get charts() {
    return charts;
  },
  get sceneTrends() {
    return sceneTrends;
  },
  get services() {
    return services;
  },
  get backdrop() {
    return backdrop;
  },
};
boot();
