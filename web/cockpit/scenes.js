// Scenes the cockpit is organised by, the status colours, and which device
// kinds belong to which scene (docs/DESIGN.md, "Device kinds"). Pure data and
// functions: no DOM, no three.js.

export const SCENES = ["overview", "governance", "safety", "elderly", "energy", "traffic", "services"];
export const STATUSES = ["normal", "warning", "alarm", "offline"];
export const SEVERITIES = ["critical", "major", "minor", "warning"];

// Dark-theme palette: calm blue for normal so that amber and red stand out.
export const STATUS_COLORS = {
  normal: "#2f6fa3",
  warning: "#f2a900",
  alarm: "#e5303a",
  offline: "#6b7280",
};
export const SEVERITY_COLORS = {
  critical: "#ff2d3d",
  major: "#ff7a1a",
  minor: "#f2c200",
  warning: "#4fb3ff",
};

const KIND_SCENE = {
  smoke: "safety",
  water_leak: "safety",
  gas: "safety",
  elevator: "safety",
  door: "safety",
  env: "safety",
  air_quality: "safety",
  power_meter: "energy",
  wearable: "elderly",
  parking: "traffic",
  pv_inverter: "energy",
  ev_charger: "traffic",
  gate: "traffic",
  // Per-home devices (twin/kinds.py): care activity and the home's supply.
  water_meter: "elderly",
  motion: "elderly",
  home_meter: "energy",
};

/** The scene a device kind belongs to; unknown kinds show under overview only. */
export function sceneOfKind(kind) {
  return KIND_SCENE[kind] ?? null;
}

/**
 * Status of a building or storey record of /live as seen in one scene.
 * Records without per-scene states (the buildings collection) show their
 * overall status in every scene rather than pretending all is normal.
 */
export function statusIn(record, scene) {
  if (!record) return "normal";
  const status = scene === "overview" || !record.scenes ? record.status : record.scenes[scene];
  return STATUSES.includes(status) ? status : "normal";
}

/** Whether an alarm of /live belongs in a scene's lists. */
export function alarmInScene(alarm, scene) {
  return scene === "overview" || scene === "governance" || sceneOfKind(alarm.kind) === scene;
}

const RANK = { critical: 4, major: 3, minor: 2, warning: 1 };

/** Alarms, most severe first, then newest first. */
export function sortAlarms(alarms) {
  return [...alarms].sort(
    (a, b) =>
      (RANK[b.severity] ?? 0) - (RANK[a.severity] ?? 0) ||
      String(b.raised_at).localeCompare(String(a.raised_at)),
  );
}
