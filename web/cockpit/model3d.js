// Buildings as modelled: the community's binary glTF (GET …/buildings.glb,
// one node per building with its roof and wall surfaces), fetched as early
// as the page may and merged (glb.js) into two vertex arrays in the page's
// frame, all roofs and all walls (modelled.js draws them). One draw call per
// surface kind instead of one per building and storey: that was the first
// frame's cost (issue 24). No three.js here: the page starts its requests
// before three.js has loaded.

import { KINDS, mergeGlb, readGlb } from "./glb.js";

export { KINDS };
export const ROOF_COLOR = "#c8965a"; // sand: apart from every status colour and the dark ground
export const WALL_COLOR = "#16202f"; // walls between storey bands and above the top storey

/** The storey of `building` holding height z (the nearest one outside them all). */
export function storeyAtHeight(building, z) {
  let best = null;
  let gap = Infinity;
  for (const s of building.storeys) {
    const d = z < s.floorZ ? s.floorZ - z : z > s.floorZ + s.height ? z - s.floorZ - s.height : 0;
    if (d < gap) {
      gap = d;
      best = s.index;
    }
  }
  return best;
}

/** Whether the page should try the community's glTF (else it draws the extruded footprints). */
export function wantsModel(api, address) {
  return address.searchParams.get("draw") !== "footprints" && api.has("/buildings.glb");
}

/**
 * The community's glTF fetched and parsed (null when there is none: 404),
 * started as early as the page may so it overlaps the other requests; null
 * at once when the page draws footprints (`wantsModel`).
 */
export function fetchModelled(api, address) {
  if (!wantsModel(api, address)) return null;
  const parsed = api.bytes("/buildings.glb").then((bytes) => {
    performance.mark("cockpit:glb");
    return bytes ? readGlb(bytes) : null;
  });
  parsed.catch(() => {}); // drawModelled awaits it and reports a failure; nothing unhandled before
  return parsed;
}

/**
 * Draw the buildings as modelled from `parsed` (fetchModelled). The view
 * was set up without extruded footprints when there is a glTF to wait for;
 * they are drawn now for buildings the glTF lacks, or for all when it is
 * missing (404) or fails. Returns what is drawn: "model", "footprints" or
 * "footprints-after-error".
 */
export async function drawModelled(view, model, parsed) {
  if (!parsed) return "footprints";
  try {
    const glb = await parsed;
    if (view.origin !== model.origin) return "footprints"; // another model came meanwhile
    const drawn = view.useModelledBuildings(glb ? mergeGlb(glb, model.origin) : null);
    return drawn ? "model" : "footprints";
  } catch (err) {
    console.warn("buildings.glb not drawn, footprints shown:", err?.message ?? err);
    if (view.origin === model.origin) view.useModelledBuildings(null);
    return "footprints-after-error";
  }
}
