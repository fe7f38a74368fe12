"""The phone page of residents and grid workers: ``GET /app/{cid}`` and its own files;
and the office's page to run the round table: ``GET /office/{cid}`` (``web/office/``).

Served like the cockpit and district pages (:mod:`api.cockpit`): plain ES
modules and a stylesheet from ``web/app/``, no data in the page. It signs in
with ``/v1/session`` (or joins with an invite code) and then reads and acts
through ``/v1/me/...`` with the session cookie and its CSRF token, so serving
it for any well-formed community id discloses nothing.

It also loads the cockpit's pure ``sla.js`` (countdowns), from the cockpit's
own asset route, so the two pages count SLAs the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

from api.cockpit import safe_file

ASSETS_PREFIX = "/app-assets"
OFFICE_ASSETS_PREFIX = "/office-assets"

_COMMUNITY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}
_HEADERS = {
    "Cache-Control": "no-cache",
    # The page shows people's reports: no other site may frame it.
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _page(folder: Path, cid: str, what: str) -> HTMLResponse:
    """A page's index.html for any well-formed community id (it holds no data)."""
    if not _COMMUNITY_ID.fullmatch(cid):
        raise HTTPException(404, "no such community")
    page = safe_file(folder, "index.html")
    if page is None:
        raise HTTPException(503, f"{what} files missing in {folder}")
    return HTMLResponse(page.read_text(encoding="utf-8"), headers=_HEADERS)


def _asset(folder: Path, path: str, what: str) -> FileResponse:
    """One of a page's own scripts or styles (only the kinds it has)."""
    found = safe_file(folder, path)
    if found is None or found.suffix not in _MEDIA_TYPES:
        raise HTTPException(404, f"no {what} file {path!r}")
    return FileResponse(found, media_type=_MEDIA_TYPES[found.suffix], headers=_HEADERS)


def make_router(web_dir: Path) -> APIRouter:
    """Routes serving the phone page from ``web_dir / "app"``."""
    static_dir = web_dir / "app"
    router = APIRouter(tags=["people"])

    @router.get("/app/{cid}", response_class=HTMLResponse, summary="The phone page of people")
    def people_page(cid: str) -> HTMLResponse:
        return _page(static_dir, cid, "phone page")

    @router.get(
        "/app/{cid}/sw.js",
        response_class=FileResponse,
        summary="The phone page's service worker (Web Push notifications)",
    )
    def service_worker(cid: str) -> FileResponse:
        """Served under the page's own path so that its scope can be the page
        (``/app/{cid}``, allowed by ``Service-Worker-Allowed``) and no wider."""
        if not _COMMUNITY_ID.fullmatch(cid):
            raise HTTPException(404, "no such community")
        found = safe_file(static_dir, "sw.js")
        if found is None:
            raise HTTPException(503, f"phone page files missing in {static_dir}")
        headers = {**_HEADERS, "Service-Worker-Allowed": f"/app/{cid}"}
        return FileResponse(found, media_type=_MEDIA_TYPES[".js"], headers=headers)

    @router.get(
        ASSETS_PREFIX + "/{path:path}",
        response_class=FileResponse,
        summary="The phone page's scripts and styles",
    )
    def app_file(path: str) -> FileResponse:
        return _asset(static_dir, path, "phone page")

    office_dir = web_dir / "office"

    @router.get("/office/{cid}", response_class=HTMLResponse, summary="The office's round table")
    def office_page(cid: str) -> HTMLResponse:
        """Like the phone page: no data in it; it signs in as an office account."""
        return _page(office_dir, cid, "office page")

    @router.get(
        OFFICE_ASSETS_PREFIX + "/{path:path}",
        response_class=FileResponse,
        summary="The office page's scripts and styles",
    )
    def office_file(path: str) -> FileResponse:
        return _asset(office_dir, path, "office page")

    return router
