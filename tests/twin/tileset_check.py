"""Checks of a 3D Tiles 1.1 tileset on disk, and the Khronos glTF-Validator on its content.

``tileset_problems`` reads ``tileset.json`` as a viewer would and lists what
is wrong: version, geometric errors growing downwards, bounding boxes that
do not hold their children or their content (positions read back with
trimesh, glTF Y-up turned Z-up as 3D Tiles runtimes do), missing content.
``gltf_reports`` runs the validator (npm ``gltf-validator``, from web/).
"""

from __future__ import annotations

import io
import itertools
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import trimesh

ROOT = Path(__file__).resolve().parents[2]
VALIDATE = ROOT / "tests" / "tools" / "validate_gltf.mjs"
TOLERANCE = 0.01  # metres


def gltf_reports(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """The validator's counts and messages for each file."""
    out = subprocess.run(
        ["node", str(VALIDATE), *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return dict(json.loads(out.stdout))


def box_corners(box: list[float]) -> npt.NDArray[np.float64]:
    c = np.asarray(box[:3])
    axes = np.asarray(box[3:]).reshape(3, 3)
    signs = np.array(list(itertools.product((-1, 1), repeat=3)), float)
    return np.asarray(c + signs @ axes, np.float64)


def inside(points: npt.NDArray[np.float64], box: list[float]) -> bool:
    """Whether every point lies in the (oriented) box, within the tolerance."""
    c = np.asarray(box[:3])
    axes = np.asarray(box[3:]).reshape(3, 3)
    lengths = np.linalg.norm(axes, axis=1)
    units = axes / np.maximum(lengths, 1e-12)[:, None]
    offsets = np.abs((points - c) @ units.T)
    return bool((offsets <= lengths + TOLERANCE).all())


def content_points(glb: bytes) -> npt.NDArray[np.float64]:
    """Every vertex of a glb, Z-up (3D Tiles turns glTF's +Y up into +Z up)."""
    scene = trimesh.load(io.BytesIO(glb), file_type="glb", force="scene")
    assert isinstance(scene, trimesh.Scene)
    dumped = scene.to_geometry()
    v = np.asarray(dumped.vertices, np.float64)
    return np.stack([v[:, 0], -v[:, 2], v[:, 1]], axis=1)


def tileset_problems(folder: Path) -> list[str]:
    problems: list[str] = []
    doc = json.loads((folder / "tileset.json").read_text())
    if doc.get("asset", {}).get("version") != "1.1":
        problems.append("asset.version is not 1.1")
    root = doc.get("root", {})
    transform = root.get("transform")
    if not (isinstance(transform, list) and len(transform) == 16):
        problems.append("root.transform is not a 4x4 matrix")
    elif transform[15] != 1 or transform[3] != 0 or transform[7] != 0 or transform[11] != 0:
        problems.append("root.transform is not affine")
    if root.get("refine") not in ("ADD", "REPLACE"):
        problems.append("root.refine is missing (required on the root)")
    if not doc.get("geometricError", -1) >= root.get("geometricError", 0):
        problems.append("the tileset's geometricError is below its root's")

    def walk(tile: dict[str, Any], path: str, parent: dict[str, Any] | None) -> None:
        box = tile.get("boundingVolume", {}).get("box")
        if not (isinstance(box, list) and len(box) == 12):
            problems.append(f"{path}: no bounding box")
            return
        error = tile.get("geometricError")
        if not isinstance(error, int | float) or error < 0:
            problems.append(f"{path}: bad geometricError {error!r}")
        elif parent is not None and error > parent["geometricError"]:
            problems.append(f"{path}: geometricError above its parent's")
        if parent is not None and not inside(box_corners(box), parent["boundingVolume"]["box"]):
            problems.append(f"{path}: bounding box outside its parent's")
        content = tile.get("content")
        if content is not None:
            file = folder / content["uri"]
            if not file.is_file():
                problems.append(f"{path}: content {content['uri']} missing")
            else:
                data = file.read_bytes()
                if data[:4] != b"glTF" or int.from_bytes(data[4:8], "little") != 2:
                    problems.append(f"{path}: content is not glTF 2.0 binary")
                elif not inside(content_points(data), box):
                    problems.append(f"{path}: content outside its bounding box")
        children = tile.get("children", [])
        if children and tile.get("refine") not in ("ADD", "REPLACE"):
            problems.append(f"{path}: children without refine")
        for n, child in enumerate(children):
            walk(child, f"{path}/{n}", tile)

    walk(root, "root", None)
    return problems


def read_glb(path: Path) -> tuple[dict[str, Any], bytes]:
    """A glb's JSON and binary chunks, read by hand (the 10,000-building test reads 20+ tiles)."""
    data = path.read_bytes()
    length = int.from_bytes(data[12:16], "little")
    doc = json.loads(data[20 : 20 + length])
    start = 20 + length
    size = int.from_bytes(data[start : start + 4], "little")
    return doc, data[start + 8 : start + 8 + size]


def contents(folder: Path) -> list[Path]:
    doc = json.loads((folder / "tileset.json").read_text())
    found: list[Path] = []

    def walk(tile: dict[str, Any]) -> None:
        if "content" in tile:
            found.append(folder / tile["content"]["uri"])
        for child in tile.get("children", []):
            walk(child)

    walk(doc["root"])
    return found
