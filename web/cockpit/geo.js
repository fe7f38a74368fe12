// Geometry for the 3D view: from the API's WGS 84 GeoJSON to the community's
// local metres (x east, y north), the frame devices and incidents come in.
//
// The community CRS can be any pyproj CRS, which the browser cannot evaluate.
// Over a community (a kilometre or two) the map from longitude/latitude to the
// local frame is affine to well under a centimetre, so the page fits that
// affine map from matching vertices: a building's footprint in WGS 84 (the
// collection) and the same footprint in local metres (its detail endpoint).

const EARTH_RADIUS_M = 6371008.8;
const DEG = Math.PI / 180;

/** Flat lon/lat → metres around (lon0, lat0): an equirectangular tangent plane. */
export function tangentPlane(lon0, lat0) {
  const kx = EARTH_RADIUS_M * DEG * Math.cos(lat0 * DEG);
  const ky = EARTH_RADIUS_M * DEG;
  return ([lon, lat]) => [(lon - lon0) * kx, (lat - lat0) * ky];
}

/** Outer rings of a Polygon or MultiPolygon geometry. */
export function outerRings(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return [geometry.coordinates[0]];
  if (geometry.type === "MultiPolygon") return geometry.coordinates.map((poly) => poly[0]);
  return [];
}

/** All rings (outer and holes) of a Polygon or MultiPolygon, as polygons. */
export function polygons(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return [geometry.coordinates];
  if (geometry.type === "MultiPolygon") return geometry.coordinates;
  return [];
}

/** Mean of a feature collection's outer-ring vertices, as [lon, lat]. */
export function centroidLonLat(features) {
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (const f of features) {
    for (const ring of outerRings(f.geometry)) {
      for (const [x, y] of ring) {
        sx += x;
        sy += y;
        n += 1;
      }
    }
  }
  return n ? [sx / n, sy / n] : [0, 0];
}

function solve3(m, v) {
  // Cramer's rule on a 3x3 system; null when singular (collinear points).
  const det = (a) =>
    a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) -
    a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
    a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
  const d = det(m);
  if (Math.abs(d) < 1e-9) return null;
  return [0, 1, 2].map((col) => det(m.map((row, i) => row.map((x, j) => (j === col ? v[i] : x)))) / d);
}

/**
 * Least-squares affine map from points `from` to points `to` (pairs of [x, y]),
 * with its worst residual in metres; null if the points are degenerate.
 */
export function fitAffine(from, to) {
  if (from.length < 3 || from.length !== to.length) return null;
  const m = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  const bx = [0, 0, 0];
  const by = [0, 0, 0];
  from.forEach(([x, y], i) => {
    const row = [x, y, 1];
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) m[r][c] += row[r] * row[c];
      bx[r] += row[r] * to[i][0];
      by[r] += row[r] * to[i][1];
    }
  });
  const px = solve3(m, bx);
  const py = solve3(m, by);
  if (!px || !py) return null;
  const apply = ([x, y]) => [px[0] * x + px[1] * y + px[2], py[0] * x + py[1] * y + py[2]];
  let residual = 0;
  from.forEach((p, i) => {
    const [x, y] = apply(p);
    residual = Math.max(residual, Math.hypot(x - to[i][0], y - to[i][1]));
  });
  return { apply, residual };
}

/** Matching vertex pairs of the same footprint in two frames (same ring order). */
export function vertexPairs(geometryA, geometryB) {
  const a = polygons(geometryA);
  const b = polygons(geometryB);
  const pairsA = [];
  const pairsB = [];
  if (a.length !== b.length) return [pairsA, pairsB];
  a.forEach((poly, i) => {
    if (poly.length !== b[i].length) return;
    poly.forEach((ring, j) => {
      if (ring.length !== b[i][j].length) return;
      ring.forEach((p, k) => {
        pairsA.push([p[0], p[1]]);
        pairsB.push([b[i][j][k][0], b[i][j][k][1]]);
      });
    });
  });
  return [pairsA, pairsB];
}

/**
 * The function turning [lon, lat] into community-local metres.
 * `samples` are [wgs84Geometry, localGeometry] pairs of the same buildings.
 * Without usable samples the result is a tangent plane around the collection
 * centroid: buildings still line up with each other, but devices and
 * incidents given in local metres may be offset (`exact` tells which).
 */
export function lonLatToLocal(features, samples) {
  const [lon0, lat0] = centroidLonLat(features);
  const plane = tangentPlane(lon0, lat0);
  const from = [];
  const to = [];
  for (const [wgs, local] of samples) {
    const [a, b] = vertexPairs(wgs, local);
    from.push(...a.map(plane));
    to.push(...b);
  }
  const fit = fitAffine(from, to);
  // A residual over a metre means the footprints did not match vertex by
  // vertex (or the map is not affine here): do not trust the fit.
  if (fit && fit.residual < 1.0) {
    return { toLocal: (p) => fit.apply(plane(p)), exact: true, residual: fit.residual };
  }
  return { toLocal: plane, exact: false, residual: null };
}

/** Axis-aligned bounds of points [[x, y], ...]. */
export function bounds(points) {
  const b = { minX: Infinity, minY: Infinity, maxX: -Infinity, maxY: -Infinity };
  for (const [x, y] of points) {
    b.minX = Math.min(b.minX, x);
    b.minY = Math.min(b.minY, y);
    b.maxX = Math.max(b.maxX, x);
    b.maxY = Math.max(b.maxY, y);
  }
  return b;
}

/** Area-weighted centroid of a ring (falls back to the vertex mean). */
export function ringCentroid(ring) {
  let a = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x0, y0] = ring[i];
    const [x1, y1] = ring[i + 1];
    const cross = x0 * y1 - x1 * y0;
    a += cross;
    cx += (x0 + x1) * cross;
    cy += (y0 + y1) * cross;
  }
  if (Math.abs(a) < 1e-9) {
    const n = ring.length || 1;
    return [ring.reduce((s, p) => s + p[0], 0) / n, ring.reduce((s, p) => s + p[1], 0) / n];
  }
  return [cx / (3 * a), cy / (3 * a)];
}
