// The community's own 3D data behind the twin: an external OGC 3D Tiles
// tileset (an oblique-photography mesh, a city's tiles), drawn with
// 3d-tiles-renderer and placed by its georeference. Tiles are in ECEF; the
// API gives the map from ECEF to the community's local metres (fitted with
// pyproj through the community's CRS), so the page needs no CRS code.
//
// Failing gracefully: the tileset.json is read first, and a missing (404),
// unreachable or malformed one is a message on the page, never a broken
// twin; tiles that fail later are counted in the message.
//
// 3d-tiles-renderer is imported when a backdrop is first shown, not with the
// page: most communities have none, and every page's first frame waited for it.

import * as THREE from "three";
import { t } from "./i18n.js";

/** Why a decoded tileset.json is not a usable 3D Tiles tileset, or null. */
export function tilesetProblem(doc) {
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) return "not a JSON object";
  if (typeof doc.asset?.version !== "string") return "asset.version missing";
  if (!/^1\./.test(doc.asset.version)) return `asset.version ${doc.asset.version} is not 1.x`;
  const root = doc.root;
  if (!root || typeof root !== "object") return "root missing";
  const volume = root.boundingVolume;
  if (!volume || !(volume.box || volume.region || volume.sphere)) return "root.boundingVolume missing";
  if (!Number.isFinite(root.geometricError)) return "root.geometricError missing";
  return null;
}

/** A three.js matrix from the API's 4×4 rows, shifted by the scene origin. */
export function sceneMatrix(rows, origin) {
  const m = new THREE.Matrix4().set(...rows.flat());
  return new THREE.Matrix4().makeTranslation(-origin[0], -origin[1], 0).multiply(m);
}

export class Backdrop {
  constructor(view, { button, message }) {
    this.view = view;
    this.button = button;
    this.message = message;
    this.config = null;
    this.tiles = null;
    this.on = false;
    this.failedTiles = 0;
    this.state = "none"; // none | off | loading | shown | failed
    button.addEventListener("click", () => this.toggle());
  }

  /** The community's backdrop (GET …/backdrop); shows the toggle when one is set. */
  configure(config) {
    this.hide();
    this.config = config?.url && config.georeference ? config : null;
    this.button.hidden = !this.config;
    this.state = this.config ? "off" : "none";
    document.body.dataset.backdrop = this.state;
  }

  toggle() {
    if (this.on) this.hide();
    else this.show();
  }

  async show() {
    if (!this.config) return;
    this.on = true;
    this.button.setAttribute("aria-pressed", "true");
    this.setState("loading", t("backdrop.loading"), "info");
    const { url } = this.config;
    let doc;
    try {
      const response = await fetch(url, { cache: "no-cache", mode: "cors" });
      if (!response.ok) return this.fail(t("backdrop.missing", { url, status: response.status }));
      const text = await response.text();
      try {
        doc = JSON.parse(text);
      } catch {
        return this.fail(t("backdrop.malformed", { url, why: "not JSON" }));
      }
    } catch (err) {
      return this.fail(t("backdrop.unreachable", { url, why: err?.message ?? String(err) }));
    }
    const problem = tilesetProblem(doc);
    if (problem) return this.fail(t("backdrop.malformed", { url, why: problem }));
    let renderer;
    try {
      renderer = await import("3d-tiles-renderer/three");
    } catch (err) {
      return this.fail(t("backdrop.unreachable", { url, why: err?.message ?? String(err) }));
    }
    if (!this.on || this.tiles) return undefined; // switched off (or on again) meanwhile
    this.start(url, renderer.TilesRenderer);
    return undefined;
  }

  start(url, TilesRenderer) {
    const tiles = new TilesRenderer(url);
    tiles.fetchOptions = { mode: "cors" };
    tiles.setCamera(this.view.camera);
    tiles.setResolutionFromRenderer(this.view.camera, this.view.renderer);
    tiles.group.matrixAutoUpdate = false;
    tiles.group.matrix.copy(sceneMatrix(this.config.georeference.ecef_to_local, this.view.origin));
    tiles.group.matrixWorldNeedsUpdate = true;
    tiles.group.name = "backdrop";
    const redraw = () => this.view.requestRender();
    tiles.addEventListener("needs-update", redraw);
    tiles.addEventListener("load-model", () => {
      if (this.state === "loading") this.setState("shown");
      redraw();
    });
    tiles.addEventListener("load-error", () => {
      this.failedTiles += 1;
      this.setState(this.state === "loading" ? "failed" : this.state, t("backdrop.content", { n: this.failedTiles }));
    });
    this.tiles = tiles;
    this.view.scene.add(tiles.group);
    this.view.beforeRender = () => {
      tiles.setResolutionFromRenderer(this.view.camera, this.view.renderer);
      this.view.camera.updateMatrixWorld();
      tiles.update();
    };
    redraw();
  }

  hide() {
    this.on = false;
    this.button.setAttribute("aria-pressed", "false");
    if (this.tiles) {
      this.view.scene.remove(this.tiles.group);
      this.view.beforeRender = null;
      this.tiles.dispose();
      this.tiles = null;
    }
    this.failedTiles = 0;
    this.setState(this.config ? "off" : "none");
    this.view.requestRender();
  }

  fail(text) {
    this.setState("failed", text);
    this.on = false;
    this.button.setAttribute("aria-pressed", "false");
  }

  setState(state, text = "", tone = "error") {
    this.state = state;
    document.body.dataset.backdrop = state;
    this.message.hidden = !text;
    this.message.textContent = text;
    this.message.classList.toggle("info", tone === "info");
  }
}
