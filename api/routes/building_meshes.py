"""The community's buildings as modelled, as binary glTF (the cockpit draws it).

``GET /v1/communities/{cid}/buildings.glb``: one node per building (``name``
and ``extras.building`` = its id), materials ``roof`` and ``wall``, Y-up local
metres (``twin.geometry.gltf``). Built once per model version and kept per
community with a strong ``ETag``; an import that changes buildings or meshes
bumps the version (``building_mesh_versions``), so the next request rebuilds.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import cast

from fastapi import APIRouter, Request, Response

from api.deps import CommunityRead, DbConn
from api.models.common import problems
from api.queries.building_meshes import building_meshes, mesh_version
from api.scene_cache import not_modified
from twin.geometry.gltf import buildings_glb

router = APIRouter(prefix="/v1/communities/{cid}", tags=["buildings"])
GLB = "model/gltf-binary"


@dataclass(frozen=True, slots=True)
class Glb:
    version: int
    body: bytes
    etag: str


class GlbCache:
    """The latest glb per community; concurrent misses of one community build it once."""

    def __init__(self, max_entries: int = 64) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, Glb] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, conn: DbConn, cid: str) -> Glb:
        version = await mesh_version(conn, cid)
        hit = self._entries.get(cid)
        if hit is not None and hit.version == version:
            return hit
        lock = self._locks.setdefault(cid, asyncio.Lock())
        async with lock:
            hit = self._entries.get(cid)
            if hit is None or hit.version != version:
                ids, meshes = await building_meshes(conn, cid)
                body = await asyncio.to_thread(buildings_glb, ids, meshes)
                digest = hashlib.sha256(body).hexdigest()[:24]
                hit = Glb(version, body, f'"{digest}"')
                if len(self._entries) >= self.max_entries and cid not in self._entries:
                    self._entries.clear()
                self._entries[cid] = hit
        return hit


def glb_cache(request: Request) -> GlbCache:
    return cast(GlbCache, request.app.state.glb)


@router.get(
    "/buildings.glb",
    response_class=Response,
    responses={
        200: {
            "content": {GLB: {}},
            "headers": {"ETag": {"description": "digest of the glb", "schema": {"type": "string"}}},
        },
        304: {"description": "unchanged since the ETag in `If-None-Match`"},
        **problems(401, 403, 404, 429),
    },
)
async def community_glb(request: Request, cid: CommunityRead, conn: DbConn) -> Response:
    """Binary glTF 2.0 of every building as modelled: Y-up metres in the community's
    local frame (glTF X, Y, Z = x east, z up, -y north), one node per building named
    by its id, materials `roof` and `wall`, `_FEATURE_ID_0` = the building's index."""
    got = await glb_cache(request).get(conn, cid)
    headers = {"ETag": got.etag, "Cache-Control": "private, no-cache"}
    if not_modified(request.headers.get("if-none-match"), got.etag):
        return Response(status_code=304, headers=headers)
    return Response(got.body, media_type=GLB, headers=headers)
