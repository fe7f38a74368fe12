"""A community for the phone page's browser tests, on the real path.

Its own database (seeded like the cockpit's), a private Mosquitto, ``commtwin
ingest`` and the API publishing people's reports and actions to the broker:
a report typed on the phone goes API → MQTT → ingestor → PostgreSQL → change
log → the API's live state → the cockpit's ``/live`` and the phone's
``/v1/me/stream``, as in production.
"""

from __future__ import annotations

import secrets
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from commtwin import db
from tests.ingest.helpers import IngestProcess
from tests.services import Broker, scratch_database
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, NAME_A, ConsoleLog
from tests.web.seed import create_key, seed_community
from tests.web.server import ApiServer

CID = "webtest-people"
PASSWORD = "plum blossom 17"


def png(width: int = 48, height: int = 32) -> bytes:
    """A small real PNG (a colour gradient), made with the standard library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 5 % 256, y * 7 % 256, 128)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class PeopleSite:
    server: ApiServer
    database_url: str
    admin: dict[str, str]
    reader: dict[str, str]

    @property
    def base(self) -> str:
        return self.server.base_url

    def page_url(self) -> str:
        return f"{self.base}/app/{CID}"

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.base}{path}", timeout=30, **kwargs)

    def invite(self, building: str, unit: str) -> str:
        r = self.call(
            "POST",
            f"/v1/communities/{CID}/invites",
            json={"building_id": building, "unit_id": unit},
            headers=self.admin,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["code"])

    def worker(self, login: str, grids: list[str]) -> None:
        body = {"login": login, "role": "worker", "password": PASSWORD, "grids": grids}
        r = self.call("POST", f"/v1/communities/{CID}/accounts", json=body, headers=self.admin)
        assert r.status_code == 201, r.text

    def live(self) -> dict[str, Any]:
        r = self.call("GET", f"/v1/communities/{CID}/live", headers=self.reader)
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body

    def satisfaction(self) -> dict[str, Any]:
        """The satisfaction KPI as the cockpit reads it."""
        r = self.call("GET", f"/v1/communities/{CID}/kpis/satisfaction", headers=self.reader)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def incident(self, iid: str) -> dict[str, Any]:
        """The incident as the cockpit's key reads it."""
        r = self.call("GET", f"/v1/communities/{CID}/incidents/{iid}", headers=self.reader)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def event_types(self, iid: str) -> list[str]:
        """Every stored event of an incident, in order (what the ingestor committed)."""
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT type FROM incident_events WHERE community_id = %s AND incident_id = %s"
                " ORDER BY ts, received_at",
                (CID, iid),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def events_with_note(self, iid: str, note: str) -> int:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM incident_events"
                " WHERE community_id = %s AND incident_id = %s AND note = %s",
                (CID, iid, note),
            ).fetchone()
        return int(str(row[0])) if row else 0


@pytest.fixture(scope="module")
def people_site(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PeopleSite]:
    with scratch_database("commtwin_web_people") as url:
        db.upgrade(url, prefer="plain")
        with psycopg.connect(url, autocommit=True) as conn:
            seed_community(conn, CID, NAME_A)
            admin = create_key(conn, ["admin"], [CID])
            reader = create_key(conn, ["cockpit:read"], [CID])
        tag = secrets.token_hex(3)
        root = f"webtest-{tag}/v1"
        ingestor = IngestProcess(
            url,
            broker.url,
            tmp_path_factory.mktemp("ingest"),
            client_id=f"webtest-people-{tag}",
            root=root,
            extra=("--linger-ms", "20"),
        )
        try:
            ingestor.wait_connected()
            photos = str(tmp_path_factory.mktemp("photos"))
            server = ApiServer(url, people=(broker.url, root, photos)).start()
            try:
                yield PeopleSite(
                    server,
                    url,
                    {"Authorization": f"Bearer {admin}"},
                    {"Authorization": f"Bearer {reader}"},
                )
            finally:
                server.stop()
        finally:
            if ingestor.proc.poll() is None:
                ingestor.terminate()
            else:
                ingestor.kill()
            IngestProcess.running.remove(ingestor)


@pytest.fixture(scope="module")
def playwright_and_browser() -> Iterator[tuple[Playwright, Browser]]:
    """Like conftest's ``browser``, with Playwright's device descriptors at hand."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (scripts/setup.sh does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield p, b
        b.close()


def phone(pw: tuple[Playwright, Browser], locale: str) -> tuple[Page, ConsoleLog]:
    """A new phone (iPhone 13: 390×844, touch, mobile) in its own context; the
    whole screen is the page's (no browser bars), as when added to the home screen."""
    playwright, browser = pw
    device = dict(playwright.devices["iPhone 13"])
    device.pop("default_browser_type", None)
    device["viewport"] = device["screen"]
    context = browser.new_context(**device, locale=locale)
    page = context.new_page()
    log = ConsoleLog()
    page.on("console", log.on_console)
    page.on("pageerror", log.on_page_error)
    return page, log


def photo_file(tmp: Path, name: str) -> Path:
    path = tmp / name
    path.write_bytes(png())
    return path
