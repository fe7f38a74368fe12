"""The phone page's own reads: ``GET /v1/me/map``, ``GET /v1/me/stream`` and the page's routes.

A database of its own (people's accounts are per test module) with two
communities; community A has a building B does not.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from api.app import create_app
from api.config import ApiConfig
from api.db import run_once
from api.live.events import StreamEvent
from api.queries.keys import create_key
from api.routes.me_stream import Judge
from commtwin import db
from tests.api.conftest import auth, serve
from tests.api.seed import A, B
from tests.api.test_people_api import PASSWORD, _model, session_of
from tests.services import scratch_database
from tests.web.seed import seed_community
from twin.people.roles import Household, Person, Role

ONLY_IN_A = "b9"


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[str, dict[str, dict[str, str]]]]:
    with scratch_database() as url:
        db.upgrade(url, prefer="plain")
        with psycopg.connect(url, autocommit=True) as conn:
            _model(conn)
            square = {"type": "Polygon", "coordinates": [[[60, 0], [80, 0], [80, 9], [60, 0]]]}
            conn.execute(
                "INSERT INTO buildings (community_id, id, name, footprint, ground_z, roof_z)"
                " VALUES (%s, %s, '9幢', %s, 0, 30)",
                (A, ONLY_IN_A, json.dumps(square)),
            )
        admins = {
            cid: auth(run_once(url, lambda c, x=cid: create_key(c, ["admin"], [x], "admin")).key)
            for cid in (A, B)
        }
        config = ApiConfig(url, rate_per_s=1e6, rate_burst=1e6, key_cache_s=0.0, sse_ping_s=1.0)
        with serve(create_app(config)) as base:
            yield base, admins


@pytest.fixture
def http(site: tuple[str, dict[str, dict[str, str]]]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site[0], timeout=30) as c:
        yield c


def resident(http: httpx.Client, admin: dict[str, str], cid: str, login: str) -> dict[str, str]:
    """The cookie header of a new resident of ``cid`` living in b1/1-201."""
    r = http.post(
        f"/v1/communities/{cid}/invites",
        json={"building_id": "b1", "unit_id": "1-201"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    body = {"community": cid, "code": r.json()["code"], "login": login, "password": PASSWORD}
    joined = http.post("/v1/session/join", json=body)
    assert joined.status_code == 201, joined.text
    return session_of(joined)[0]


def test_the_map_is_the_sessions_own_community_and_no_other(
    http: httpx.Client, site: tuple[str, dict[str, dict[str, str]]]
) -> None:
    admins = site[1]
    mine = http.get("/v1/me/map", headers=resident(http, admins[A], A, "li.na"))
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["community"] == A
    assert [b["id"] for b in body["buildings"]] == ["b1", ONLY_IN_A]
    assert body["buildings"][0]["storeys"] == 2
    # Local metres as stored, not WGS 84.
    assert body["buildings"][1]["footprint"]["coordinates"][0][1] == [80.0, 0.0]
    assert [g["id"] for g in body["grids"]] == ["g1", "g2"]
    assert body["home"] == {"building": "b1", "storey": 2, "unit": "1-201", "unit_name": None}
    # No people in it: the grids' workers are not named.
    assert "worker" not in json.dumps(body)

    theirs = http.get("/v1/me/map", headers=resident(http, admins[B], B, "li.na"))
    assert theirs.status_code == 200
    assert theirs.json()["community"] == B
    assert ONLY_IN_A not in json.dumps(theirs.json())

    assert http.get("/v1/me/map").status_code == 401
    forged = http.get("/v1/me/map", headers={"Cookie": "commtwin_session=forged"})
    assert forged.status_code == 401


def test_the_stream_needs_a_session_and_opens_with_a_first_event(
    http: httpx.Client, site: tuple[str, dict[str, dict[str, str]]]
) -> None:
    assert http.get("/v1/me/stream").status_code == 401
    cookie = resident(http, site[1][A], A, "zhao.lei")
    with http.stream("GET", "/v1/me/stream", headers=cookie) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        first = [next(lines) for _ in range(2)]
    assert first[0] == "event: incidents"
    assert first[1] == "data: {}"


def test_the_page_is_served_and_its_files_stay_in_their_folder(http: httpx.Client) -> None:
    page = http.get(f"/app/{A}")
    assert page.status_code == 200
    assert "/app-assets/main.js" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert http.get("/app/Not_A_Community!").status_code == 404
    script = http.get("/app-assets/main.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    for bad in ("/app-assets/../../pyproject.toml", "/app-assets/%2e%2e/cockpit/main.js",
                "/app-assets/index.html", "/app-assets/nothing.js"):  # fmt: skip
        assert http.get(bad).status_code == 404, bad


def test_the_stream_tells_a_household_of_its_reports_and_workers_of_their_grids() -> None:
    """``Judge`` on a real database: whose report an incident is comes from people_reports."""
    with scratch_database() as url:
        db.upgrade(url, prefer="plain")
        with psycopg.connect(url, autocommit=True) as conn:
            seed_community(conn, "judged", "judged")  # r-1 in b04 (g1), r-3 in b06 (g2)
            conn.execute(
                "INSERT INTO people_reports (community_id, incident_id, building_id, unit_id)"
                " VALUES ('judged', 'r-1', 'b04', '04-0201')"
            )

        def event(iid: str, grid: str) -> StreamEvent:
            data = {"community": "judged", "incident": {"id": iid, "grid": grid}}
            return StreamEvent("incident", 1, json.dumps(data))

        async def verdicts(person: Person) -> list[dict[str, str] | None]:
            async with AsyncConnectionPool(url, min_size=1, max_size=1, open=False) as pool:
                judge = Judge(person, pool)
                return [
                    await judge.tells(event("r-1", "g1")),
                    await judge.tells(event("r-3", "g2")),
                    await judge.tells(event("r-1", "g1")),  # the cached verdict
                    await judge.tells(StreamEvent("alarm", 2, "{}")),
                ]

        home, neighbour = Household("b04", "04-0201"), Household("b04", "04-0301")
        told = asyncio.run(verdicts(Person(1, "judged", Role.RESIDENT, household=home)))
        assert told == [{"id": "r-1"}, None, {"id": "r-1"}, None]
        told = asyncio.run(verdicts(Person(2, "judged", Role.RESIDENT, household=neighbour)))
        assert told == [None, None, None, None]
        worker = Person(3, "judged", Role.WORKER, grids=frozenset({"g2"}))
        assert asyncio.run(verdicts(worker)) == [None, {"id": "r-3"}, None, None]
        office = Person(4, "judged", Role.OFFICE)
        assert asyncio.run(verdicts(office)) == [{"id": "r-1"}, {"id": "r-3"}, {"id": "r-1"}, None]
        other = Person(5, "elsewhere", Role.OFFICE)
        assert asyncio.run(verdicts(other)) == [None, None, None, None]
