"""The round table's API tests' world: a community model, parking reports, a server.

The model (areas in m², by ``area_m2``): building b1 (1-101: 80, 1-102: 100, 1-201: 120,
1-202: 100) and b2 (2-101: 90) lie in grid g1, the estate; b3 (3-101: 90) in grid g2.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from shapely.geometry import box

from api.app import create_app
from api.community_store import import_community
from api.config import ApiConfig
from api.db import run_once
from api.queries.keys import create_key
from commtwin import db
from tests.api.conftest import auth, serve
from tests.api.test_people_api import PASSWORD, session_of
from tests.services import scratch_database
from twin.model.community import Building, Community, Grid, Storey, Unit

A, B = "lanting", "xixi"
NOW = datetime.now(UTC)
HOMES = {"1-101": 80, "1-102": 100, "1-201": 120, "1-202": 100}


def community(cid: str) -> Community:
    storeys = (Storey(1, 0.0, 3.0), Storey(2, 3.0, 3.0))

    def units(areas: dict[str, int]) -> tuple[Unit, ...]:
        return tuple(Unit(u, int(u[2]), attributes={"area_m2": a}) for u, a in areas.items())

    return Community(
        cid,
        cid,
        "EPSG:4547",
        buildings=(
            Building("b1", "1幢", box(0, 0, 20, 10), 0.0, 6.0, storeys, units(HOMES)),
            Building("b2", "2幢", box(30, 0, 50, 10), 0.0, 6.0, storeys, units({"2-101": 90})),
            Building("b3", "3幢", box(100, 0, 120, 10), 0.0, 6.0, storeys, units({"3-101": 90})),
        ),
        grids=(
            Grid("g1", "一网格", box(-5, -5, 60, 30)),
            Grid("g2", "二网格", box(90, -5, 130, 30)),
        ),
    )


def incidents(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    rows = [(f"park-{n}", NOW - timedelta(days=n), "g1", 24.0 + n, 15.0) for n in range(6)]
    rows += [("park-old", NOW - timedelta(days=40), "g1", 25.0, 15.0)]
    rows += [("park-g2", NOW - timedelta(days=1), "g2", 110.0, 20.0)]
    for iid, at, grid, x, y in rows:
        conn.execute(
            "INSERT INTO incidents (community_id, id, status, category, reported_at, grid_id, x, y)"
            " VALUES (%s, %s, 'reported', 'parking', %s, %s, %s, %s)",
            (A, iid, at, grid, x, y),
        )


@dataclass
class Table:
    http: httpx.Client
    keys: dict[str, dict[str, str]]
    url: str  # the database's

    def session(self, login: str, cid: str = A) -> dict[str, str]:
        r = self.http.post(
            "/v1/session", json={"community": cid, "login": login, "password": PASSWORD}
        )
        assert r.status_code == 201, r.text
        cookies, csrf = session_of(r)
        return {**cookies, "X-CSRF-Token": csrf}

    def resident(self, login: str, building: str, unit: str) -> dict[str, str]:
        code = self.http.post(
            f"/v1/communities/{A}/invites",
            json={"building_id": building, "unit_id": unit},
            headers=self.keys["admin_a"],
        ).json()["code"]
        r = self.http.post(
            "/v1/session/join",
            json={"community": A, "code": code, "login": login, "password": PASSWORD},
        )
        assert r.status_code == 201, r.text
        cookies, csrf = session_of(r)
        return {**cookies, "X-CSRF-Token": csrf}


@pytest.fixture(scope="module")
def table() -> Iterator[Table]:
    with scratch_database() as url:
        db.upgrade(url, prefer="plain")
        with psycopg.connect(url, autocommit=True) as conn:
            import_community(conn, community(A))
            import_community(conn, community(B))
            incidents(conn)
        keys = {
            role: auth(
                run_once(url, lambda c, s=scopes, cs=comms, r=role: create_key(c, s, cs, r)).key
            )
            for role, (scopes, comms) in {
                "admin_a": (["admin"], [A]),
                "admin_b": (["admin"], [B]),
                "reader_a": (["cockpit:read"], [A]),
            }.items()
        }
        config = ApiConfig(url, rate_per_s=1e6, rate_burst=1e6, key_cache_s=0.0)
        with serve(create_app(config)) as base, httpx.Client(base_url=base, timeout=30) as http:
            for cid, key in ((A, "admin_a"), (B, "admin_b")):
                made = http.post(
                    f"/v1/communities/{cid}/accounts",
                    json={"login": "office", "role": "office", "password": PASSWORD},
                    headers=keys[key],
                )
                assert made.status_code == 201, made.text
            yield Table(http, keys, url)
