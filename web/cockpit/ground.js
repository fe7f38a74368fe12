// What lies on the ground of the 3D view besides grids: the community's walk
// paths (GET …/paths, local metres) as flat ribbons a few metres wide, so the
// estate reads as a place with its ways between the buildings.

import * as THREE from "three";

export const PATH_COLOR = "#3a4a5e";
const WIDTH_M = { footway: 2.5, path: 2.5, pedestrian: 4, service: 4, residential: 6 };
const Z_M = 0.08; // above the ground plane, under the grid outlines

function lines(geometry) {
  if (geometry?.type === "LineString") return [geometry.coordinates];
  if (geometry?.type === "MultiLineString") return geometry.coordinates;
  return [];
}

/** One mesh of quads, one per path segment, in the page's frame (shifted by origin). */
export function pathRibbons(features, origin) {
  const positions = [];
  for (const f of features) {
    const half = (WIDTH_M[f.properties?.kind] ?? 3) / 2;
    for (const line of lines(f.geometry)) {
      for (let i = 0; i + 1 < line.length; i++) {
        const [x0, y0] = [line[i][0] - origin[0], line[i][1] - origin[1]];
        const [x1, y1] = [line[i + 1][0] - origin[0], line[i + 1][1] - origin[1]];
        const len = Math.hypot(x1 - x0, y1 - y0);
        if (len < 1e-6) continue;
        // Segments overlap by half a width so joints have no gaps.
        const ux = (x1 - x0) / len;
        const uy = (y1 - y0) / len;
        const [nx, ny] = [-uy * half, ux * half];
        const [ax, ay, bx, by] = [x0 - ux * half, y0 - uy * half, x1 + ux * half, y1 + uy * half];
        positions.push(
          ax + nx, ay + ny, Z_M, ax - nx, ay - ny, Z_M, bx - nx, by - ny, Z_M,
          ax + nx, ay + ny, Z_M, bx - nx, by - ny, Z_M, bx + nx, by + ny, Z_M,
        );
      }
    }
  }
  const geometry = new THREE.BufferGeometry();
  geometry.setAttribute("position", new THREE.Float32BufferAttribute(positions, 3));
  geometry.computeVertexNormals();
  const mesh = new THREE.Mesh(
    geometry,
    new THREE.MeshLambertMaterial({ color: PATH_COLOR, polygonOffset: true, polygonOffsetFactor: -1 }),
  );
  mesh.userData = { paths: features.length };
  mesh.raycast = () => {}; // the ground is not picked
  return mesh;
}
