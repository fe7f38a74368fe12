"""`commtwin community export ID --format 3dtiles DIR`: the stored community as 3D Tiles 1.1.

Buildings as stored (``building_meshes``: LoD2 roofs and walls where the model
had them, extruded footprints otherwise) with their id, name, height and
storeys (``twin.geometry.tiles``), georeferenced from the community's CRS and
offset. Files are written to a fresh folder beside DIR and moved into place,
so a failed export leaves no half-written tileset.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from api.community_store import Conn, load_community, load_meshes
from commtwin.commands import CommandError
from twin.geometry.tiles import TileBuilding, tileset


def export_3dtiles(conn: Conn, community_id: str, target: Path) -> tuple[int, int]:
    """Write the tileset into ``target`` (new, or an empty folder); (buildings, tiles) written."""
    community = load_community(conn, community_id)
    if community is None:
        raise CommandError(f"community {community_id!r} does not exist")
    meshes = load_meshes(conn, community_id)
    buildings = [
        TileBuilding(
            b.id,
            b.name,
            b.height,
            sum(1 for s in b.storeys if s.index > 0),
            b.ground_z,
            b.roof_z,
            meshes[b.id],
        )
        for b in community.buildings
    ]
    files = tileset(buildings, community.frame)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise CommandError(f"{target} exists and is not an empty folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    except OSError as exc:
        raise CommandError(f"cannot write {target}: {exc.strerror or exc}") from None
    try:
        for name, data in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if target.exists():
            target.rmdir()
        staging.rename(target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise CommandError(f"cannot write {target}: {exc.strerror or exc}") from None
    return len(buildings), len(files) - 1
