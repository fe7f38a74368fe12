// The small map: building footprints and grid outlines from GET /v1/me/map,
// in the community's local metres (x east, y north), drawn as SVG with y
// flipped (SVG's y points down). Tapping a building picks it, tapping open
// ground picks a point (a public area).

const NS = "http://www.w3.org/2000/svg";

function rings(geometry) {
  if (geometry.type === "MultiPolygon") return geometry.coordinates.map((p) => p[0]);
  return [geometry.coordinates[0]];
}

/** The SVG viewBox [x, y, w, h] holding every footprint and grid, with a margin. */
export function viewBoxOf(map, margin = 8) {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  const shapes = [...map.buildings.map((b) => b.footprint), ...map.grids.map((g) => g.polygon)];
  for (const shape of shapes) {
    for (const ring of rings(shape)) {
      for (const [x, y] of ring) {
        minX = Math.min(minX, x); maxX = Math.max(maxX, x);
        minY = Math.min(minY, y); maxY = Math.max(maxY, y);
      }
    }
  }
  if (!Number.isFinite(minX)) return [0, -100, 100, 100];
  return [minX - margin, -maxY - margin, maxX - minX + 2 * margin, maxY - minY + 2 * margin];
}

/** SVG path data of a geometry, y flipped. */
export function pathOf(geometry) {
  return rings(geometry)
    .map((ring) => "M" + ring.map(([x, y]) => `${x.toFixed(2)},${(-y).toFixed(2)}`).join("L") + "Z")
    .join("");
}

/** The centre of a footprint's bounding box, local metres. */
export function centreOf(geometry) {
  const pts = rings(geometry).flat();
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
}

function el(name, attrs = {}) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/**
 * Draw `map` into `svg`. `mark` is {building} or {x, y} to highlight;
 * `onPick(place)` (optional) makes buildings and ground tappable, with place
 * {kind: "unit", building} or {kind: "point", x, y}.
 */
export function drawMap(svg, map, { mark = null, onPick = null, label = "" } = {}) {
  svg.replaceChildren();
  const [vx, vy, vw, vh] = viewBoxOf(map);
  svg.setAttribute("viewBox", `${vx} ${vy} ${vw} ${vh}`);
  svg.setAttribute("role", onPick ? "group" : "img");
  if (label) svg.setAttribute("aria-label", label);
  const ground = el("rect", { x: vx, y: vy, width: vw, height: vh, class: "ground" });
  svg.append(ground);
  for (const g of map.grids) {
    svg.append(el("path", { d: pathOf(g.polygon), class: "grid", "data-grid": g.id }));
  }
  const fontSize = Math.max(3, Math.min(vw, vh) / 28);
  for (const b of map.buildings) {
    const picked = mark?.building === b.id;
    const path = el("path", {
      d: pathOf(b.footprint),
      class: picked ? "building picked" : "building",
      "data-building": b.id,
    });
    const title = el("title");
    title.textContent = b.name ?? b.id;
    path.append(title);
    if (onPick) {
      path.setAttribute("role", "button");
      path.setAttribute("tabindex", "0");
      path.setAttribute("aria-label", b.name ?? b.id);
      const pick = (ev) => {
        ev.stopPropagation();
        onPick({ kind: "unit", building: b.id });
      };
      path.addEventListener("click", pick);
      path.addEventListener("keydown", (ev) => (ev.key === "Enter" || ev.key === " ") && pick(ev));
    }
    svg.append(path);
    const [cx, cy] = centreOf(b.footprint);
    const text = el("text", { x: cx, y: -cy, "font-size": fontSize, class: "label" });
    text.textContent = b.name ?? b.id;
    svg.append(text);
  }
  if (mark && Number.isFinite(mark.x) && Number.isFinite(mark.y)) {
    svg.append(el("circle", { cx: mark.x, cy: -mark.y, r: fontSize * 0.8, class: "point" }));
  }
  if (onPick) {
    ground.addEventListener("click", (ev) => {
      const p = svg.createSVGPoint();
      p.x = ev.clientX;
      p.y = ev.clientY;
      const local = p.matrixTransform(svg.getScreenCTM().inverse());
      onPick({ kind: "point", x: Math.round(local.x * 10) / 10, y: Math.round(-local.y * 10) / 10 });
    });
  }
}

/** Where an incident is, for the map: {building} or {x, y}, or null. */
export function markOf(incident) {
  if (incident.building) return { building: incident.building };
  if (incident.x != null && incident.y != null) return { x: incident.x, y: incident.y };
  return null;
}
