// Marker shapes in the 3D view. Alarms are spheres on a pin in the colour of
// their severity, incidents are diamonds (red when overdue) and can be
// clicked, placed devices (parking, located wearables...) are small cubes.

import * as THREE from "three";
import { SEVERITY_COLORS } from "./scenes.js";

const SPHERE = new THREE.SphereGeometry(1.6, 16, 12);
const DIAMOND = new THREE.OctahedronGeometry(2.2);
const CUBE = new THREE.BoxGeometry(2.4, 2.4, 2.4);

export function markerMaterials() {
  const basic = (color) => new THREE.MeshBasicMaterial({ color });
  return {
    severity: Object.fromEntries(Object.entries(SEVERITY_COLORS).map(([k, c]) => [k, basic(c)])),
    incident: basic(0xffb020),
    incidentOverdue: basic(0xff2d3d),
    deviceOnline: basic(0x3ee6a0),
    deviceOffline: basic(0x8a93a3),
    pin: new THREE.LineBasicMaterial({ color: 0xffffff, transparent: true, opacity: 0.5 }),
  };
}

function pin(x, y, z, material) {
  const geometry = new THREE.BufferGeometry().setFromPoints([
    new THREE.Vector3(x, y, 0),
    new THREE.Vector3(x, y, z),
  ]);
  return new THREE.Line(geometry, material);
}

/** Add one marker {type: alarm|incident|device, x, y, z, ...} to `group`. */
export function addMarker(group, mats, marker, origin, scale = 1) {
  const x = marker.x - origin[0];
  const y = marker.y - origin[1];
  const z = marker.z ?? 0;
  let mesh;
  if (marker.type === "alarm") {
    mesh = new THREE.Mesh(SPHERE, mats.severity[marker.severity] ?? mats.severity.warning);
  } else if (marker.type === "incident") {
    mesh = new THREE.Mesh(DIAMOND, marker.overdue ? mats.incidentOverdue : mats.incident);
    mesh.userData = { incident: marker.id };
  } else {
    mesh = new THREE.Mesh(CUBE, marker.online === false ? mats.deviceOffline : mats.deviceOnline);
    mesh.userData = { device: marker.id };
  }
  // Lift markers a little so one standing on the ground is not half buried.
  mesh.scale.setScalar(scale);
  mesh.position.set(x, y, z + 1.5 * scale);
  group.add(mesh);
  if (marker.type !== "device" && z > 2) group.add(pin(x, y, z, mats.pin));
}
