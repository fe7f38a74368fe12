"""The cockpit web page: ``GET /cockpit/{cid}`` and the files it loads.

The page is plain ES modules (``web/cockpit/``, the pages' own room beside
their package.json) plus three.js and ECharts served straight from
``web/node_modules`` (installed by ``scripts/setup.sh``
with ``npm ci``), so it works without internet access and nothing third-party
is copied into the repository. Only the folders the page needs are exposed
(:data:`VENDOR_DIRS`); every path is resolved and checked to stay inside them.

The page holds no data: it reads the ``/v1`` API with the key the user gives
it, so serving it for any well-formed community id discloses nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

# The checkout's web/: the pages' code (cockpit/, district/), package.json and
# the node_modules that scripts/setup.sh installs.
DEFAULT_WEB_DIR = Path(__file__).resolve().parent.parent / "web"
ASSETS_PREFIX = "/cockpit-assets"

# npm package -> folders of it the page may load (three's addons import 'three'
# by bare name, resolved by the page's import map).
VENDOR_DIRS: dict[str, tuple[str, ...]] = {
    "three": ("build", "examples/jsm"),
    "echarts": ("dist",),
    "3d-tiles-renderer": ("build",),  # its three.js build imports 'three' and three's addons
}

_COMMUNITY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".html": "text/html; charset=utf-8",
}
# App files change with the code; vendor files are pinned by the lock file.
_APP_CACHE = "no-cache"
_VENDOR_CACHE = "public, max-age=86400"


def safe_file(root: Path, relative: str) -> Path | None:
    """The regular file ``root/relative``, or None if it is absent or escapes ``root``.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "a.js").write_text("x")
    >>> safe_file(d, "a.js") == (d / "a.js").resolve()
    True
    >>> safe_file(d, "../etc/passwd") is None, safe_file(d, "missing.js") is None
    (True, True)
    >>> safe_file(d, "a" + chr(0) + ".js") is None, safe_file(d, "x" * 5000) is None
    (True, True)
    """
    base = root.resolve()
    try:
        candidate = (base / relative).resolve()
        if not candidate.is_relative_to(base) or not candidate.is_file():
            return None
    except (ValueError, OSError):  # NUL in the path, name too long...
        return None
    return candidate


def vendor_file(node_modules: Path, package: str, relative: str) -> Path | None:
    """A file of an allowed npm package folder, or None.

    >>> vendor_file(Path("/nowhere"), "left-pad", "index.js") is None
    True
    """
    for folder in VENDOR_DIRS.get(package, ()):
        if relative == folder or relative.startswith(folder + "/"):
            return safe_file(node_modules / package / folder, relative[len(folder) + 1 :])
    return None


def _file_response(path: Path, cache_control: str) -> FileResponse:
    media_type = _MEDIA_TYPES.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": cache_control})


def make_router(web_dir: Path) -> APIRouter:
    """Routes serving the cockpit page from ``web_dir`` (``cockpit/`` and ``node_modules/``)."""
    static_dir = web_dir / "cockpit"
    node_modules = web_dir / "node_modules"
    router = APIRouter(tags=["cockpit"])

    @router.get("/cockpit/{cid}", response_class=HTMLResponse, summary="The cockpit page")
    def cockpit_page(cid: str) -> HTMLResponse:
        if not _COMMUNITY_ID.fullmatch(cid):
            raise HTTPException(404, "no such community")
        page = safe_file(static_dir, "index.html")
        if page is None:
            raise HTTPException(503, f"cockpit page files missing in {static_dir}")
        return HTMLResponse(page.read_text(encoding="utf-8"), headers={"Cache-Control": _APP_CACHE})

    @router.get(
        ASSETS_PREFIX + "/app/{path:path}",
        response_class=FileResponse,
        summary="The cockpit page's own scripts and styles",
    )
    def app_file(path: str) -> FileResponse:
        found = safe_file(static_dir, path)
        if found is None:
            raise HTTPException(404, f"no cockpit file {path!r}")
        return _file_response(found, _APP_CACHE)

    @router.get(
        ASSETS_PREFIX + "/vendor/{package}/{path:path}",
        response_class=FileResponse,
        summary="Front-end libraries from web/node_modules",
    )
    def vendor(package: str, path: str) -> FileResponse:
        if package not in VENDOR_DIRS:
            raise HTTPException(404, f"no vendor package {package!r}")
        if not (node_modules / package / "package.json").is_file():
            raise HTTPException(
                503, f"npm package {package!r} missing in {node_modules}: run scripts/setup.sh"
            )
        found = vendor_file(node_modules, package, path)
        if found is None:
            raise HTTPException(404, f"no file {path!r} in vendor package {package!r}")
        return _file_response(found, _VENDOR_CACHE)

    return router
