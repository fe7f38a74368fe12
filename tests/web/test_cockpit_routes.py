"""``api.cockpit``: the page and its files are served, and nothing else is."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from api.cockpit import DEFAULT_WEB_DIR, make_router


def get(web_dir: Path, path: str) -> httpx.Response:
    app = FastAPI()
    app.include_router(make_router(web_dir))

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://cockpit") as client:
            return await client.get(path)

    # In a thread of its own: Playwright's sync API keeps an event loop running
    # in the main thread while the browser tests' session is open.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, fetch()).result()


def test_page_is_served_for_well_formed_ids_only() -> None:
    page = get(DEFAULT_WEB_DIR, "/cockpit/lanting")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '"three": "/cockpit-assets/vendor/three/build/three.module.js"' in page.text
    assert get(DEFAULT_WEB_DIR, "/cockpit/Not_An_Id").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/cockpit-assets/app/main.js",
        "/cockpit-assets/vendor/three/build/three.module.js",
        "/cockpit-assets/vendor/three/build/three.core.js",
        "/cockpit-assets/vendor/three/examples/jsm/controls/OrbitControls.js",
        "/cockpit-assets/vendor/three/examples/jsm/renderers/CSS2DRenderer.js",
        "/cockpit-assets/vendor/echarts/dist/echarts.esm.min.mjs",
    ],
)
def test_modules_the_page_imports_are_served_as_javascript(path: str) -> None:
    response = get(DEFAULT_WEB_DIR, path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"


def test_every_app_module_import_resolves() -> None:
    # A missing module would only show as a console error in a browser.
    static = DEFAULT_WEB_DIR / "cockpit"
    for js in static.glob("*.js"):
        for line in js.read_text().splitlines():
            if line.startswith("import") and '"./' in line:
                name = line.split('"./')[1].split('"')[0]
                assert (static / name).is_file(), f"{js.name} imports missing ./{name}"


@pytest.mark.parametrize(
    "path",
    [
        "/cockpit-assets/vendor/three/package.json",
        "/cockpit-assets/vendor/three/src/Three.js",
        "/cockpit-assets/vendor/tslib/tslib.js",
        "/cockpit-assets/vendor/three/build/../../../../pyproject.toml",
        "/cockpit-assets/vendor/three/build/%2e%2e/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
        "/cockpit-assets/app/../cockpit.py",
        "/cockpit-assets/app/%2e%2e/cockpit.py",
        "/cockpit-assets/app/nothing.js",
        "/cockpit-assets/app/a%00b.js",
        "/cockpit-assets/vendor/three/build/%00",
        "/cockpit-assets/app/%2Fetc%2Fpasswd",
        "/cockpit-assets/app/" + "x" * 5000,
    ],
)
def test_nothing_outside_the_allowed_folders(path: str) -> None:
    response = get(DEFAULT_WEB_DIR, path)
    assert response.status_code == 404, path
    assert "import" not in response.text


def test_missing_npm_packages_say_how_to_install_them(tmp_path: Path) -> None:
    response = get(tmp_path, "/cockpit-assets/vendor/three/build/three.module.js")
    assert response.status_code == 503
    assert "scripts/setup.sh" in response.json()["detail"]
