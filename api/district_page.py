"""The district page: ``GET /district/{id}`` and its own files (``web/district/``).

Served like the cockpit page (:mod:`api.cockpit`): static ES modules and
styles, no data in the page; it reads ``/v1/districts/{id}/overview`` and
``/stream`` with the key the user gives it (``?key=``) and links each
community to its cockpit page with the same key.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

from api.cockpit import safe_file

ASSETS_PREFIX = "/district-assets"

_DISTRICT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_NO_CACHE = {"Cache-Control": "no-cache"}


def make_router(web_dir: Path) -> APIRouter:
    """Routes serving the district page from ``web_dir / "district"``."""
    static_dir = web_dir / "district"
    router = APIRouter(tags=["cockpit"])

    @router.get("/district/{district_id}", response_class=HTMLResponse, summary="The district page")
    def district_page(district_id: str) -> HTMLResponse:
        if not _DISTRICT_ID.fullmatch(district_id):
            raise HTTPException(404, "no such district")
        page = safe_file(static_dir, "index.html")
        if page is None:
            raise HTTPException(503, f"district page files missing in {static_dir}")
        return HTMLResponse(page.read_text(encoding="utf-8"), headers=_NO_CACHE)

    @router.get(
        ASSETS_PREFIX + "/{path:path}",
        response_class=FileResponse,
        summary="The district page's scripts and styles",
    )
    def district_file(path: str) -> FileResponse:
        found = safe_file(static_dir, path)
        if found is None or found.suffix not in _MEDIA_TYPES:
            raise HTTPException(404, f"no district page file {path!r}")
        return FileResponse(found, media_type=_MEDIA_TYPES[found.suffix], headers=_NO_CACHE)

    return router
