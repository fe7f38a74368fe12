// Buildings as extruded footprints: one band per storey, its height less a
// dark gap so the bands read as floors. Drawn when the community has no
// glTF (or it fails, or ?draw=footprints), and for buildings the glTF lacks.

import * as THREE from "three";

/** Shapes of polygons ([[ring, hole…]…], local metres) shifted by `origin`. */
export function shapesOf(polygons, origin) {
  return polygons.map((rings) => {
    const toV = ([x, y]) => new THREE.Vector2(x - origin[0], y - origin[1]);
    const shape = new THREE.Shape(rings[0].map(toV));
    for (const hole of rings.slice(1)) shape.holes.push(new THREE.Path(hole.map(toV)));
    return shape;
  });
}

/**
 * Add building `b`'s storey bands (and their outlines) to its group, once.
 * `materials.material(storeyIndex)` gives a band's material, `materials.edges`
 * the outlines'. Returns [[storeyIndex, mesh]] of the bands added.
 */
export function extrudeFootprints(group, b, origin, gapM, materials) {
  if (group.userData.extruded) return [];
  group.userData.extruded = true;
  const shapes = shapesOf(b.polygons, origin);
  const geometries = new Map(); // band height -> geometry, shared by storeys
  const made = [];
  for (const s of b.storeys) {
    const depth = Math.max(0.2, s.height - Math.min(gapM, s.height * 0.15));
    let geometry = geometries.get(depth);
    if (!geometry) {
      geometry = new THREE.ExtrudeGeometry(shapes, { depth, bevelEnabled: false });
      geometries.set(depth, geometry);
    }
    const mesh = new THREE.Mesh(geometry, materials.material(s.index));
    mesh.position.z = s.floorZ;
    mesh.userData = { building: b.id, storey: s.index };
    const edges = new THREE.LineSegments(new THREE.EdgesGeometry(geometry), materials.edges);
    edges.position.z = s.floorZ;
    edges.userData = { edges: true };
    group.add(mesh, edges);
    made.push([s.index, mesh]);
  }
  return made;
}

/** Remove a group's storey bands and outlines (its label stays). */
export function removeFootprints(group) {
  if (!group?.userData.extruded) return;
  for (const child of [...group.children]) {
    if (child.isCSS2DObject) continue;
    group.remove(child);
    child.geometry.dispose(); // the building's own extrusions (shared by its storeys only)
  }
  group.userData.extruded = false;
}
