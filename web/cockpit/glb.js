// The community's buildings.glb read straight into the arrays the cockpit
// draws (modelled.js): all roofs and all walls, each building's vertices
// contiguous so its range can be picked, boxed and outlined. No three.js
// objects on the way: three's GLTFLoader built a mesh, a geometry and
// attributes per building and primitive (2,000 buildings: ~1.4 s of the first
// frame under load, issue 24), only for the page to copy them out again.
//
// Reads what the API writes (docs/twin.md, "Buildings as glTF") and any glTF
// 2.0 of that shape: node hierarchy with matrix or TRS, triangle primitives
// (strips and fans too) with float POSITION, indexed or not, interleaved or
// not, in the glb's own binary chunk. What it cannot read (external or
// compressed buffers, sparse or quantized positions) is a GlbError: the page
// then draws the extruded footprints and says so.
//
// glTF is Y-up; the API writes (X, Y, Z) = (x_east, z_up, -y_north) in the
// community's local metres. The page is z-up and shifted by `origin`.

const MAGIC = 0x46546c67; // "glTF"
const JSON_CHUNK = 0x4e4f534a;
const BIN_CHUNK = 0x004e4942;
const SIZES = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4 };
const ARRAYS = { 5121: Uint8Array, 5123: Uint16Array, 5125: Uint32Array, 5126: Float32Array };
const TRIANGLES = 4;
const STRIP = 5;
const FAN = 6;
export const KINDS = ["roof", "wall"];

export class GlbError extends Error {}

/** A glb's JSON document and its binary chunk, {doc, buffer, bin: {offset, length}}. */
export function readGlb(buffer) {
  if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < 20) throw new GlbError("not a glb: too short");
  const view = new DataView(buffer);
  if (view.getUint32(0, true) !== MAGIC) throw new GlbError("not a glb: no glTF header");
  if (view.getUint32(4, true) !== 2) throw new GlbError(`glb version ${view.getUint32(4, true)} is not 2`);
  const end = Math.min(view.getUint32(8, true), buffer.byteLength);
  let doc = null;
  let bin = null;
  for (let at = 12; at + 8 <= end; ) {
    const length = view.getUint32(at, true);
    const type = view.getUint32(at + 4, true);
    const start = at + 8;
    if (start + length > end) throw new GlbError("glb chunk runs past the end of the file");
    if (type === JSON_CHUNK && !doc) doc = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, start, length)));
    else if (type === BIN_CHUNK && !bin) bin = { offset: start, length };
    at = start + length;
  }
  if (!doc || typeof doc !== "object") throw new GlbError("glb has no JSON chunk");
  const required = (doc.extensionsRequired ?? []).filter((e) => e !== "EXT_mesh_features");
  if (required.length) throw new GlbError(`glb needs ${required.join(", ")}`);
  return { doc, buffer, bin };
}

/** An accessor's elements: {array, stride (in elements), size, count}. */
function accessor(glb, index) {
  const { doc, buffer, bin } = glb;
  const a = doc.accessors?.[index];
  if (!a) throw new GlbError(`accessor ${index} missing`);
  if (a.sparse) throw new GlbError("sparse accessors are not read");
  const Type = ARRAYS[a.componentType];
  const size = SIZES[a.type];
  if (!Type || !size || !(a.count >= 0)) throw new GlbError(`accessor ${index}: unsupported ${a.type}/${a.componentType}`);
  if (a.bufferView === undefined) return { array: new Type(a.count * size), stride: size, size, count: a.count };
  const bv = doc.bufferViews?.[a.bufferView];
  if (!bv || !bin || bv.buffer !== 0 || doc.buffers?.[0]?.uri !== undefined) {
    throw new GlbError(`accessor ${index}: data outside the glb's binary chunk`);
  }
  const bytes = Type.BYTES_PER_ELEMENT;
  const strideBytes = bv.byteStride ?? size * bytes;
  const first = (bv.byteOffset ?? 0) + (a.byteOffset ?? 0);
  const span = a.count ? (a.count - 1) * strideBytes + size * bytes : 0;
  if (strideBytes % bytes || first + span > (bv.byteOffset ?? 0) + bv.byteLength || (bv.byteOffset ?? 0) + bv.byteLength > bin.length) {
    throw new GlbError(`accessor ${index} does not fit its buffer view`);
  }
  const start = bin.offset + first;
  const length = Math.ceil(span / bytes);
  // Typed arrays need aligned offsets; a misaligned view is copied.
  const array = start % bytes ? new Type(buffer.slice(start, start + length * bytes)) : new Type(buffer, start, length);
  return { array, stride: strideBytes / bytes, size, count: a.count };
}

/** Column-major 4×4 of a node: its matrix, or translation · rotation · scale. */
function localMatrix(node) {
  if (Array.isArray(node.matrix) && node.matrix.length === 16) return node.matrix;
  if (!node.translation && !node.rotation && !node.scale) return null;
  const [tx, ty, tz] = node.translation ?? [0, 0, 0];
  const [x, y, z, w] = node.rotation ?? [0, 0, 0, 1];
  const [sx, sy, sz] = node.scale ?? [1, 1, 1];
  return [
    (1 - 2 * (y * y + z * z)) * sx, 2 * (x * y + w * z) * sx, 2 * (x * z - w * y) * sx, 0,
    2 * (x * y - w * z) * sy, (1 - 2 * (x * x + z * z)) * sy, 2 * (y * z + w * x) * sy, 0,
    2 * (x * z + w * y) * sz, 2 * (y * z - w * x) * sz, (1 - 2 * (x * x + y * y)) * sz, 0,
    tx, ty, tz, 1,
  ];
}

function multiply(a, b) {
  if (!a) return b;
  if (!b) return a;
  const out = new Array(16);
  for (let col = 0; col < 4; col++) {
    for (let row = 0; row < 4; row++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[k * 4 + row] * b[col * 4 + k];
      out[col * 4 + row] = s;
    }
  }
  return out;
}

/** The vertex numbers of a primitive's triangles, three per triangle (null: 0, 1, 2, ...). */
function corners(mode, indices, vertices) {
  const n = indices ? indices.count : vertices;
  const at = indices ? (i) => indices.array[i * indices.stride] : (i) => i;
  if (mode === TRIANGLES) {
    if (!indices) return null;
    return indices.stride === 1 ? indices.array.subarray(0, n - (n % 3)) : Uint32Array.from({ length: n - (n % 3) }, (_, i) => at(i));
  }
  const out = new Uint32Array(Math.max(0, n - 2) * 3);
  for (let i = 0; i + 2 < n; i++) {
    const [a, b, c] = mode === FAN ? [0, i + 1, i + 2] : i % 2 ? [i + 1, i, i + 2] : [i, i + 1, i + 2];
    out.set([at(a), at(b), at(c)], i * 3);
  }
  return out;
}

/** Every triangle primitive under the default scene: {building, kind, matrix, positions, corners, count}. */
function primitives(glb) {
  const { doc } = glb;
  const nodes = doc.nodes ?? [];
  const children = new Set(nodes.flatMap((n) => n.children ?? []));
  const roots = doc.scenes?.[doc.scene ?? 0]?.nodes ?? nodes.map((_, i) => i).filter((i) => !children.has(i));
  const found = [];
  const seen = new Set();
  const visit = (index, parentMatrix, parentTag, parentName) => {
    const node = nodes[index];
    if (!node || seen.has(index)) return; // a node in two places (or a cycle) is read once
    seen.add(index);
    const matrix = multiply(parentMatrix, localMatrix(node));
    const tag = typeof node.extras?.building === "string" ? node.extras.building : parentTag;
    const name = node.name || parentName;
    const mesh = node.mesh === undefined ? null : doc.meshes?.[node.mesh];
    if (node.mesh !== undefined && !mesh) throw new GlbError(`node ${index}: mesh ${node.mesh} missing`);
    for (const p of mesh?.primitives ?? []) {
      const mode = p.mode ?? TRIANGLES;
      const building = typeof mesh.extras?.building === "string" ? mesh.extras.building : tag ?? name;
      if (![TRIANGLES, STRIP, FAN].includes(mode) || !building || p.attributes?.POSITION === undefined) continue;
      const positions = accessor(glb, p.attributes.POSITION);
      if (positions.size !== 3 || !(positions.array instanceof Float32Array)) throw new GlbError("POSITION is not float VEC3");
      const indices = p.indices === undefined ? null : accessor(glb, p.indices);
      const list = corners(mode, indices, positions.count);
      const count = list ? list.length : positions.count - (positions.count % 3);
      const kind = `${doc.materials?.[p.material]?.name ?? ""}`.toLowerCase() === "roof" ? "roof" : "wall";
      found.push({ building, kind, matrix, positions, corners: list, count });
    }
    for (const child of node.children ?? []) visit(child, matrix, tag, name);
  };
  for (const root of roots) visit(root, null, null, null);
  return found;
}

/**
 * The glb's buildings merged in the page's frame (z up, shifted by `origin`,
 * [x, y] local metres): {ids, roof, wall, boxes} where roof and wall are
 * {positions, normals: Float32Array (unindexed triangles, flat normals),
 * building: Float32Array (the building's index per vertex), start, count:
 * Int32Array per building (in vertices)} and boxes holds per building
 * [minX, minY, minZ, maxX, maxY, maxZ] over both kinds.
 */
export function mergeGlb(glb, origin) {
  const parts = primitives(glb);
  const ids = [];
  const indexOf = new Map();
  for (const p of parts) {
    if (!indexOf.has(p.building)) {
      indexOf.set(p.building, ids.length);
      ids.push(p.building);
    }
    p.index = indexOf.get(p.building);
  }
  const n = ids.length;
  const out = { ids, boxes: new Float32Array(n * 6) };
  for (const kind of KINDS) {
    const count = new Int32Array(n);
    for (const p of parts) if (p.kind === kind) count[p.index] += p.count;
    const start = new Int32Array(n);
    for (let i = 1; i < n; i++) start[i] = start[i - 1] + count[i - 1];
    const total = n ? start[n - 1] + count[n - 1] : 0;
    out[kind] = {
      positions: new Float32Array(total * 3),
      normals: new Float32Array(total * 3),
      building: new Float32Array(total),
      start,
      count,
    };
  }
  for (let i = 0; i < n; i++) out.boxes.set([Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity], i * 6);
  const cursor = { roof: Int32Array.from(out.roof.start), wall: Int32Array.from(out.wall.start) };
  const [ox, oy] = origin;
  for (const p of parts) {
    const target = out[p.kind];
    const { array, stride, count: vertices } = p.positions;
    const m = p.matrix;
    const box = out.boxes;
    const b6 = p.index * 6;
    let at = cursor[p.kind][p.index];
    for (let i = 0; i < p.count; i++, at++) {
      const v = p.corners ? p.corners[i] : i;
      if (v >= vertices) throw new GlbError("index past the last vertex");
      let x = array[v * stride];
      let y = array[v * stride + 1];
      let z = array[v * stride + 2];
      if (m) {
        const [x0, y0, z0] = [x, y, z];
        x = m[0] * x0 + m[4] * y0 + m[8] * z0 + m[12];
        y = m[1] * x0 + m[5] * y0 + m[9] * z0 + m[13];
        z = m[2] * x0 + m[6] * y0 + m[10] * z0 + m[14];
      }
      // glTF (x, y up, z south) -> page (x, y north, z up), minus the origin.
      const px = x - ox;
      const py = -z - oy;
      target.positions[at * 3] = px;
      target.positions[at * 3 + 1] = py;
      target.positions[at * 3 + 2] = y;
      target.building[at] = p.index;
      if (px < box[b6]) box[b6] = px;
      if (py < box[b6 + 1]) box[b6 + 1] = py;
      if (y < box[b6 + 2]) box[b6 + 2] = y;
      if (px > box[b6 + 3]) box[b6 + 3] = px;
      if (py > box[b6 + 4]) box[b6 + 4] = py;
      if (y > box[b6 + 5]) box[b6 + 5] = y;
    }
    cursor[p.kind][p.index] = at;
  }
  for (const kind of KINDS) flatNormals(out[kind].positions, out[kind].normals);
  return out;
}

/** Each triangle's unit normal on its three vertices, as three's computeVertexNormals gives it. */
function flatNormals(positions, normals) {
  const p = positions;
  for (let t = 0; t + 8 < p.length; t += 9) {
    // (c - b) × (a - b), normalised.
    const bx = p[t + 3];
    const by = p[t + 4];
    const bz = p[t + 5];
    const cx = p[t + 6] - bx;
    const cy = p[t + 7] - by;
    const cz = p[t + 8] - bz;
    const ux = p[t] - bx;
    const uy = p[t + 1] - by;
    const uz = p[t + 2] - bz;
    let nx = cy * uz - cz * uy;
    let ny = cz * ux - cx * uz;
    let nz = cx * uy - cy * ux;
    const length = Math.sqrt(nx * nx + ny * ny + nz * nz) || 1;
    nx /= length;
    ny /= length;
    nz /= length;
    for (let k = t; k < t + 9; k += 3) {
      normals[k] = nx;
      normals[k + 1] = ny;
      normals[k + 2] = nz;
    }
  }
}
