"""The photo tests' world: a database of their own, people in it, and a real S3 endpoint.

Community A has building b1 with homes 1-101 and 1-102 and grids g1, g2;
community B is another community. The S3 endpoint is moto's server mode: a
real HTTP server speaking S3, on a free port, for the test's lifetime.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import psycopg
from moto.server import ThreadedMotoServer

from api.app import create_app
from api.config import ApiConfig
from api.db import run_once
from api.object_store import S3Config, s3_client
from api.queries.keys import create_key
from commtwin import db
from tests.api.conftest import auth, serve
from tests.api.seed import SQUARE, square_building
from tests.services import free_port, scratch_database

A, B = "photos-a", "photos-b"
PASSWORD = "camellia garden 21"
Db = psycopg.Connection[tuple[object, ...]]


def _model(conn: Db) -> None:
    for cid in (A, B):
        square_building(conn, cid)
        conn.execute(
            "INSERT INTO storeys (community_id, building_id, idx, name, floor_z, height)"
            " VALUES (%s, 'b1', 1, '1F', 0, 3)",
            (cid,),
        )
        for uid in ("1-101", "1-102"):
            conn.execute(
                "INSERT INTO units (community_id, building_id, id, storey_idx)"
                " VALUES (%s, 'b1', %s, 1)",
                (cid, uid),
            )
        for gid in ("g1", "g2"):
            conn.execute(
                "INSERT INTO grids (community_id, id, polygon) VALUES (%s, %s, %s)",
                (cid, gid, SQUARE),
            )


def add_incident(
    url: str, iid: str, *, community: str = A, grid: str | None = "g1", unit: str | None = None
) -> str:
    """An open incident in ``grid``, located in home ``unit`` of b1 and reported by
    that household (people_reports) when ``unit`` is given."""
    now = datetime.now(UTC)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO incidents (community_id, id, status, category, reported_at, grid_id,"
            " building_id, unit_id, resolve_due_at) VALUES (%s, %s, 'reported', 'water', %s,"
            " %s, 'b1', %s, %s)",
            (community, iid, now, grid, unit, now + timedelta(hours=4)),
        )
        if unit is not None:
            conn.execute(
                "INSERT INTO people_reports (community_id, incident_id, building_id, unit_id)"
                " VALUES (%s, %s, 'b1', %s)",
                (community, iid, unit),
            )
    return iid


@contextmanager
def photo_database() -> Iterator[tuple[str, dict[str, dict[str, str]]]]:
    """(database URL, key headers: admin_a, reader_a, reader_b)."""
    with scratch_database() as url:
        db.upgrade(url, prefer="plain")
        with psycopg.connect(url, autocommit=True) as conn:
            _model(conn)
        keys = {
            name: auth(
                run_once(url, lambda c, s=scopes, m=member, n=name: create_key(c, s, [m], n)).key
            )
            for name, (scopes, member) in {
                "admin_a": (["admin"], A),
                "reader_a": (["cockpit:read"], A),
                "reader_b": (["cockpit:read"], B),
            }.items()
        }
        add_incident(url, "b-incident", community=B, unit="1-101")
        yield url, keys


def _session(response: httpx.Response) -> dict[str, str]:
    """Headers that act as the session a response opened: its cookie and CSRF token."""
    assert response.status_code == 201, response.text
    jar = SimpleCookie(response.headers["set-cookie"])
    return {
        "Cookie": f"commtwin_session={jar['commtwin_session'].value}",
        "X-CSRF-Token": response.json()["csrf_token"],
    }


def resident(http: httpx.Client, admin: dict[str, str], login: str, unit: str) -> dict[str, str]:
    made = http.post(
        f"/v1/communities/{A}/invites", json={"building_id": "b1", "unit_id": unit}, headers=admin
    )
    assert made.status_code == 201, made.text
    body = {"community": A, "code": made.json()["code"], "login": login, "password": PASSWORD}
    return _session(http.post("/v1/session/join", json=body))


def staff(
    http: httpx.Client, admin: dict[str, str], login: str, role: str, grids: list[str]
) -> dict[str, str]:
    made = http.post(
        f"/v1/communities/{A}/accounts",
        json={"login": login, "role": role, "password": PASSWORD, "grids": grids},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    body = {"community": A, "login": login, "password": PASSWORD}
    return _session(http.post("/v1/session", json=body))


@contextmanager
def moto_s3() -> Iterator[S3Config]:
    """A real S3 endpoint (moto's server) with an empty bucket.

    Moto keeps its buckets per process, across servers: each gets a new name.
    """
    bucket = f"commtwin-photos-{secrets.token_hex(4)}"
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        config = S3Config(
            bucket,
            endpoint_url=f"http://127.0.0.1:{port}",
            region="us-east-1",
            access_key_id="testing",
            secret_access_key="testing",
        )
        s3_client(config).create_bucket(Bucket=bucket)
        yield config
    finally:
        server.stop()


def bucket_keys(config: S3Config) -> list[str]:
    listed = s3_client(config).list_objects_v2(Bucket=config.bucket)
    return sorted(o["Key"] for o in listed.get("Contents", []) if "Key" in o)


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def photo_rows(url: str, incident: str | None = None) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute(
            "SELECT count(*) FROM photos WHERE %(i)s::text IS NULL OR incident_id = %(i)s",
            {"i": incident},
        ).fetchone()
    assert found is not None
    return int(str(found[0]))


@dataclass(frozen=True)
class World:
    url: str  # the database's
    api: str
    photo_dir: Path
    keys: dict[str, dict[str, str]]
    people: dict[str, dict[str, str]]  # session headers by name


def api_config(url: str, photo_dir: Path, s3: S3Config | None = None) -> ApiConfig:
    return ApiConfig(
        url, rate_per_s=1e6, rate_burst=1e6, key_cache_s=0.0, photo_dir=photo_dir, photo_s3=s3
    )


@contextmanager
def photo_world(photo_dir: Path) -> Iterator[World]:
    """:func:`photo_database` behind a real API keeping photos under ``photo_dir``;
    people: the households of 1-101 and 1-102, workers of g1 and g2, the office."""
    with photo_database() as (url, keys), serve(create_app(api_config(url, photo_dir))) as api:
        with httpx.Client(base_url=api, timeout=30) as http:
            admin = keys["admin_a"]
            people = {
                "resident": resident(http, admin, "wang.101", "1-101"),
                "neighbour": resident(http, admin, "li.102", "1-102"),
                "worker_g1": staff(http, admin, "zhang.g1", "worker", ["g1"]),
                "worker_g2": staff(http, admin, "zhao.g2", "property", ["g2"]),
                "office": staff(http, admin, "office.chen", "office", []),
            }
        yield World(url, api, photo_dir, keys, people)


def upload(
    http: httpx.Client,
    who: dict[str, str],
    incident: str,
    data: bytes,
    *,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
    client_id: str | None = None,
) -> httpx.Response:
    form = {"client_id": client_id} if client_id is not None else None
    return http.post(
        f"/v1/me/incidents/{incident}/photos",
        files={"file": (filename, data, content_type)},
        data=form,
        headers=who,
    )
