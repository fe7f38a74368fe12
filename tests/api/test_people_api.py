"""People through the API: invites, joining, signing in and out, and what can fail.

Its own server: login throttling counts per address, and every request here
comes from 127.0.0.1.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import httpx
import psycopg
import pytest

from api.app import create_app
from api.config import ApiConfig
from api.db import run_once
from api.queries.keys import create_key
from commtwin import db
from tests.api.conftest import auth, serve
from tests.api.seed import SQUARE, A, B, square_building
from tests.services import scratch_database

PASSWORD = "plum blossom 17"


@dataclass(frozen=True)
class PeopleDb:
    url: str
    keys: dict[str, dict[str, str]]


def _model(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    for cid in (A, B):
        square_building(conn, cid)
        conn.execute(
            "INSERT INTO storeys (community_id, building_id, idx, name, floor_z, height)"
            " VALUES (%s, 'b1', 1, '1F', 0, 3), (%s, 'b1', 2, '2F', 3, 3)",
            (cid, cid),
        )
        for uid, idx in (("1-101", 1), ("1-102", 1), ("1-201", 2)):
            conn.execute(
                "INSERT INTO units (community_id, building_id, id, storey_idx)"
                " VALUES (%s, 'b1', %s, %s)",
                (cid, uid, idx),
            )
        for gid in ("g1", "g2"):
            conn.execute(
                "INSERT INTO grids (community_id, id, polygon) VALUES (%s, %s, %s)",
                (cid, gid, SQUARE),
            )


@pytest.fixture(scope="module")
def people_db() -> Iterator[PeopleDb]:
    """A database of its own: the incidents added here must not move other tests' counts."""
    with scratch_database() as url:
        db.upgrade(url, prefer="plain")
        with psycopg.connect(url, autocommit=True) as conn:
            _model(conn)
        keys = {
            role: auth(
                run_once(url, lambda c, s=scopes, cs=comms, r=role: create_key(c, s, cs, r)).key
            )
            for role, (scopes, comms) in {
                "admin_a": (["admin"], [A]),
                "reader_a": (["cockpit:read"], [A]),
            }.items()
        }
        yield PeopleDb(url, keys)


def config(people_db: PeopleDb) -> ApiConfig:
    return ApiConfig(people_db.url, rate_per_s=1e6, rate_burst=1e6, key_cache_s=0.0)


@pytest.fixture(scope="module")
def people_url(people_db: PeopleDb) -> Iterator[str]:
    with serve(create_app(config(people_db))) as url:
        yield url


@pytest.fixture
def keys(people_db: PeopleDb) -> dict[str, dict[str, str]]:
    return people_db.keys


@pytest.fixture
def http(people_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=people_url, timeout=30) as c:
        yield c


def invite(http: httpx.Client, key: dict[str, str], unit: str = "1-101") -> str:
    r = http.post(
        f"/v1/communities/{A}/invites", json={"building_id": "b1", "unit_id": unit}, headers=key
    )
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def session_of(response: httpx.Response) -> tuple[dict[str, str], str]:
    """(Cookie header, CSRF token) of a response that opened a session."""
    jar = SimpleCookie(response.headers["set-cookie"])
    return {"Cookie": f"commtwin_session={jar['commtwin_session'].value}"}, response.json()[
        "csrf_token"
    ]


def test_a_resident_joins_once_with_an_invite_and_gets_a_safe_cookie(
    http: httpx.Client, keys: dict[str, dict[str, str]]
) -> None:
    code = invite(http, keys["admin_a"])
    body = {"community": A, "code": code, "login": "wang.fang", "password": PASSWORD}
    joined = http.post("/v1/session/join", json=body)
    assert joined.status_code == 201, joined.text
    cookie = joined.headers["set-cookie"].lower()
    for flag in ("httponly", "secure", "samesite=strict", "path=/"):
        assert flag in cookie, cookie
    assert joined.json()["person"]["household"] == {"building_id": "b1", "unit_id": "1-101"}
    again = http.post("/v1/session/join", json={**body, "login": "wang.fang2"})
    assert again.status_code == 400
    assert "already been used" in again.json()["detail"]
    cookies, _ = session_of(joined)
    me = http.get("/v1/me", headers=cookies)
    assert me.status_code == 200
    assert me.json()["role"] == "resident"
    assert me.json()["login"] == "wang.fang"


def test_bad_joins_are_refused_with_their_reason_and_keep_the_code(
    http: httpx.Client, keys: dict[str, dict[str, str]]
) -> None:
    code = invite(http, keys["admin_a"], unit="1-102")
    base = {"community": A, "code": code, "login": "li.na", "password": PASSWORD}
    cases = [
        ({**base, "password": "short"}, 400, "at least 10"),
        ({**base, "code": "not-a-code"}, 400, "12 letters"),
        ({**base, "community": B}, 400, "no such invite code"),  # another community's code
        ({**base, "code": "0000-0000-0000"}, 400, "no such invite code"),
    ]
    for body, status, reason in cases:
        r = http.post("/v1/session/join", json=body)
        assert r.status_code == status, r.text
        assert reason in r.json()["detail"]
    assert http.post("/v1/session/join", json=base).status_code == 201  # still unused
    taken = invite(http, keys["admin_a"], unit="1-201")
    r = http.post("/v1/session/join", json={**base, "code": taken})
    assert r.status_code == 409  # login taken: the new code is rolled back, still usable
    assert (
        http.post("/v1/session/join", json={**base, "code": taken, "login": "li.na2"}).status_code
        == 201
    )


def test_only_the_communitys_office_issues_invites(
    http: httpx.Client, keys: dict[str, dict[str, str]]
) -> None:
    body = {"building_id": "b1", "unit_id": "1-101"}
    assert (
        http.post(f"/v1/communities/{B}/invites", json=body, headers=keys["admin_a"]).status_code
        == 404
    )
    assert (
        http.post(f"/v1/communities/{A}/invites", json=body, headers=keys["reader_a"]).status_code
        == 403
    )
    assert http.post(f"/v1/communities/{A}/invites", json=body).status_code == 401
    bad = http.post(
        f"/v1/communities/{A}/invites", json={**body, "unit_id": "9-999"}, headers=keys["admin_a"]
    )
    assert bad.status_code == 400
    assert "no unit" in bad.json()["detail"]


def test_office_and_worker_accounts_sign_in_and_out_with_csrf(
    http: httpx.Client, keys: dict[str, dict[str, str]]
) -> None:
    made = http.post(
        f"/v1/communities/{A}/accounts",
        json={"login": "office.chen", "role": "office", "password": PASSWORD},
        headers=keys["admin_a"],
    )
    assert made.status_code == 201, made.text
    signed = http.post(
        "/v1/session", json={"community": A, "login": "office.chen", "password": PASSWORD}
    )
    assert signed.status_code == 201, signed.text
    cookies, csrf = session_of(signed)
    worker = {"login": "zhang.wei", "role": "worker", "password": PASSWORD, "grids": ["g1"]}
    # The office's session makes accounts too, but only with its CSRF token.
    assert (
        http.post(f"/v1/communities/{A}/accounts", json=worker, headers=cookies).status_code == 403
    )
    wrong = {**cookies, "X-CSRF-Token": "forged"}
    assert http.post(f"/v1/communities/{A}/accounts", json=worker, headers=wrong).status_code == 403
    ok = http.post(
        f"/v1/communities/{A}/accounts", json=worker, headers={**cookies, "X-CSRF-Token": csrf}
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["grids"] == ["g1"]
    assert (
        http.post(
            f"/v1/communities/{A}/accounts",
            json={**worker, "login": "zhao.lei", "grids": ["g9"]},
            headers={**cookies, "X-CSRF-Token": csrf},
        ).status_code
        == 400
    )
    # Another community's office: 404, as for keys.
    other = http.post(
        f"/v1/communities/{B}/invites",
        json={"building_id": "b1", "unit_id": "1-101"},
        headers={**cookies, "X-CSRF-Token": csrf},
    )
    assert other.status_code == 404
    assert http.delete("/v1/session", headers=cookies).status_code == 403  # no CSRF token
    assert http.delete("/v1/session", headers={**cookies, "X-CSRF-Token": csrf}).status_code == 204
    assert http.get("/v1/me", headers=cookies).status_code == 401


def test_brute_force_sign_in_is_slowed_and_says_when_to_retry(
    people_db: PeopleDb, keys: dict[str, dict[str, str]]
) -> None:
    # A server of its own: this test uses up its address's budget.
    with (
        serve(create_app(config(people_db))) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        _brute_force(http, keys)


def _brute_force(http: httpx.Client, keys: dict[str, dict[str, str]]) -> None:
    http.post(
        f"/v1/communities/{A}/accounts",
        json={"login": "target", "role": "office", "password": PASSWORD},
        headers=keys["admin_a"],
    )
    attempt = {"community": A, "login": "target", "password": "wrong password 1"}
    codes = [http.post("/v1/session", json=attempt).status_code for _ in range(6)]
    assert codes == [401] * 5 + [401]  # five free failures, the sixth still answered
    blocked = http.post("/v1/session", json={**attempt, "password": PASSWORD})
    assert blocked.status_code == 429  # even the right password waits now
    assert int(blocked.headers["retry-after"]) >= 1
    other = http.post("/v1/session", json={**attempt, "login": "nobody"})
    assert other.status_code == 401  # another account from the same address is not blocked
    # The address has a larger budget (a community centre's Wi-Fi is one address).
    codes = [
        http.post("/v1/session", json={**attempt, "login": f"guess{i}"}).status_code
        for i in range(60)
    ]
    assert 429 in codes
    assert codes.index(429) >= 40


def test_two_joins_with_one_code_at_once_make_one_account(
    http: httpx.Client, keys: dict[str, dict[str, str]], people_url: str
) -> None:
    code = invite(http, keys["admin_a"], unit="1-201")
    results: list[int] = []
    barrier = threading.Barrier(2)

    def join(login: str) -> None:
        with httpx.Client(base_url=people_url, timeout=30) as c:
            barrier.wait()
            body = {"community": A, "code": code, "login": login, "password": PASSWORD}
            results.append(c.post("/v1/session/join", json=body).status_code)

    threads = [threading.Thread(target=join, args=(f"twin.{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [201, 400]


def _incident(conn: psycopg.Connection[tuple[object, ...]], iid: str, **where: object) -> None:
    now = datetime.now(UTC)
    conn.execute(
        "INSERT INTO incidents (community_id, id, status, category, reported_at, grid_id,"
        " building_id, unit_id, resolve_due_at) VALUES (%(c)s, %(i)s, %(s)s, 'water', %(t)s,"
        " %(g)s, %(b)s, %(u)s, %(d)s)",
        {
            "c": A,
            "i": iid,
            "s": "reported",
            "t": now,
            "g": None,
            "b": None,
            "u": None,
            "d": now + timedelta(hours=1),
            **where,
        },
    )


def sign_in(http: httpx.Client, login: str) -> dict[str, str]:
    r = http.post("/v1/session", json={"community": A, "login": login, "password": PASSWORD})
    assert r.status_code == 201, r.text
    return session_of(r)[0]


def test_each_person_reads_only_what_is_theirs_and_the_rest_is_404(
    http: httpx.Client, keys: dict[str, dict[str, str]], people_db: PeopleDb
) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(people_db.url, autocommit=True) as conn:
        _incident(conn, "mine-late", g="g1", b="b1", u="1-201", d=now + timedelta(hours=5))
        _incident(conn, "mine-soon", g="g1", b="b1", u="1-201", d=now + timedelta(minutes=10))
        _incident(conn, "neighbour", g="g1", b="b1", u="1-102")
        _incident(conn, "grid2-lobby", g="g2", b="b1")
        _incident(conn, "nowhere")
        _incident(conn, "closed-mine", s="closed", g="g1", b="b1", u="1-201")
        _incident(conn, "located-here", g="g2", b="b1", u="1-201")  # not reported by them
        # What a resident reports is recorded with their household (wherever it is).
        for iid in ("mine-late", "mine-soon", "closed-mine"):
            conn.execute(
                "INSERT INTO people_reports (community_id, incident_id, building_id, unit_id)"
                " VALUES (%s, %s, 'b1', '1-201')",
                (A, iid),
            )
    code = invite(http, keys["admin_a"], unit="1-201")
    joined = http.post(
        "/v1/session/join",
        json={"community": A, "code": code, "login": "resident.201", "password": PASSWORD},
    )
    resident = session_of(joined)[0]
    for login, role, grids in (("worker.g1", "worker", ["g1"]), ("boss", "office", [])):
        made = http.post(
            f"/v1/communities/{A}/accounts",
            json={"login": login, "role": role, "password": PASSWORD, "grids": grids},
            headers=keys["admin_a"],
        )
        assert made.status_code == 201, made.text
    seen = {}
    for name, cookies in (
        ("resident", resident),
        ("worker", sign_in(http, "worker.g1")),
        ("office", sign_in(http, "boss")),
    ):
        r = http.get("/v1/me/incidents", headers=cookies)
        assert r.status_code == 200, r.text
        seen[name] = [i["id"] for i in r.json()["data"]]
        for iid in ("mine-soon", "neighbour", "grid2-lobby", "nowhere", "located-here", "no-such"):
            one = http.get(f"/v1/me/incidents/{iid}", headers=cookies)
            assert one.status_code == (200 if iid in seen[name] else 404), (name, iid)
    assert seen["resident"] == ["mine-soon", "mine-late"]  # due first; closed ones left out
    assert seen["worker"] == ["mine-soon", "neighbour", "mine-late"]
    assert set(seen["office"]) == {
        "mine-soon",
        "mine-late",
        "neighbour",
        "grid2-lobby",
        "nowhere",
        "located-here",
    }
    assert http.get("/v1/me/incidents").status_code == 401


def test_the_office_resets_a_password_and_ends_its_sessions(
    http: httpx.Client, keys: dict[str, dict[str, str]]
) -> None:
    made = http.post(
        f"/v1/communities/{A}/accounts",
        json={"login": "forgetful", "role": "worker", "password": PASSWORD, "grids": ["g2"]},
        headers=keys["admin_a"],
    )
    account = made.json()["account_id"]
    old = sign_in(http, "forgetful")
    url = f"/v1/communities/{A}/accounts/{account}/password"
    new = "winter jasmine 42"
    assert http.put(url, json={"password": "short"}, headers=keys["admin_a"]).status_code == 400
    assert http.put(url, json={"password": new}, headers=keys["reader_a"]).status_code == 403
    other = f"/v1/communities/{B}/accounts/{account}/password"
    assert http.put(other, json={"password": new}, headers=keys["admin_a"]).status_code == 404
    missing = f"/v1/communities/{A}/accounts/999999/password"
    assert http.put(missing, json={"password": new}, headers=keys["admin_a"]).status_code == 404
    assert http.put(url, json={"password": new}, headers=keys["admin_a"]).status_code == 204
    assert http.get("/v1/me", headers=old).status_code == 401  # the old session is gone
    body = {"community": A, "login": "forgetful", "password": PASSWORD}
    assert http.post("/v1/session", json=body).status_code == 401
    assert http.post("/v1/session", json={**body, "password": new}).status_code == 201
