"""People acting on incidents through their sessions: a real server, PostgreSQL,
Mosquitto and a real ``commtwin ingest`` (the same events path as the apps').

Community A of tests/api/seed.py: grid g1 covers building b1 (its worker in the
model is ``w-zhang``); grid g2 is added here, far away, for a worker who must
see nothing of g1.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest

from tests.api.live_fixtures import LiveSite, ingest_site
from tests.api.seed import A, B
from tests.services import Broker

PASSWORD = "plum blossom 17"


@dataclass(frozen=True)
class Who:
    """A signed-in person: the cookie header and the CSRF token."""

    login: str
    cookie: dict[str, str]
    csrf: str

    def headers(self, csrf: bool = True) -> dict[str, str]:
        return {**self.cookie, **({"X-CSRF-Token": self.csrf} if csrf else {})}


@pytest.fixture(scope="module")
def site(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with ingest_site("commtwin_people_act", broker.url, tmp_path_factory.mktemp("logs")) as s:
        far = {"type": "Polygon", "coordinates": [[[500, 500], [510, 500], [510, 510], [500, 500]]]}
        s.sql(
            "INSERT INTO grids (community_id, id, name, polygon) VALUES (%s, 'g2', 'g2', %s)",
            (A, json.dumps(far)),
        )
        yield s


def _session(response: httpx.Response, login: str) -> Who:
    assert response.status_code == 201, response.text
    jar = SimpleCookie(response.headers["set-cookie"])
    cookie = {"Cookie": f"commtwin_session={jar['commtwin_session'].value}"}
    return Who(login, cookie, response.json()["csrf_token"])


def sign_in(site: LiveSite, login: str) -> Who:
    body = {"community": A, "login": login, "password": PASSWORD}
    return _session(httpx.post(f"{site.base}/v1/session", json=body, timeout=30), login)


@pytest.fixture(scope="module")
def people(site: LiveSite) -> dict[str, Who]:
    """wang (1-101) and liu (1-102) residents; zhang and li workers of g1, zhao of g2."""
    admin = site.headers("admin_a")
    for login, grids in (("zhang", ["g1"]), ("li", ["g1"]), ("zhao", ["g2"])):
        made = httpx.post(
            f"{site.base}/v1/communities/{A}/accounts",
            json={"login": login, "role": "worker", "password": PASSWORD, "grids": grids},
            headers=admin,
            timeout=30,
        )
        assert made.status_code == 201, made.text
    found = {w: sign_in(site, w) for w in ("zhang", "li", "zhao")}
    for login, unit in (("wang", "1-101"), ("liu", "1-102")):
        code = httpx.post(
            f"{site.base}/v1/communities/{A}/invites",
            json={"building_id": "b1", "unit_id": unit},
            headers=admin,
            timeout=30,
        ).json()["code"]
        body = {"community": A, "code": code, "login": login, "password": PASSWORD}
        found[login] = _session(
            httpx.post(f"{site.base}/v1/session/join", json=body, timeout=30), login
        )
    return found


def call(
    site: LiveSite, who: Who, method: str, path: str, body: Any = None, *, csrf: bool = True
) -> httpx.Response:
    return httpx.request(
        method, f"{site.base}{path}", json=body, headers=who.headers(csrf), timeout=30
    )


def report(site: LiveSite, who: Who, **body: Any) -> dict[str, Any]:
    sent = {"client_id": str(uuid.uuid4()), "category": "garbage", "description": "满了", **body}
    r = call(site, who, "POST", "/v1/me/incidents", sent)
    assert r.status_code == 201, r.text
    found: dict[str, Any] = r.json()
    return found


def act(site: LiveSite, who: Who, iid: str, action: str, **body: Any) -> httpx.Response:
    sent = {"client_id": str(uuid.uuid4()), "action": action, **body}
    return call(site, who, "POST", f"/v1/me/incidents/{iid}/actions", sent)


def listed(site: LiveSite, who: Who, status: str = "open") -> list[str]:
    r = call(site, who, "GET", f"/v1/me/incidents?status={status}")
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["data"]]


def satisfaction(site: LiveSite) -> dict[str, Any]:
    r = httpx.get(
        f"{site.base}/v1/communities/{A}/kpis/satisfaction",
        headers=site.headers("reader_a"),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def test_a_public_area_report_is_the_households_and_nobody_elses(
    site: LiveSite, people: dict[str, Who]
) -> None:
    wang, liu, zhao = people["wang"], people["liu"], people["zhao"]
    client_id = str(uuid.uuid4())
    body = {
        "client_id": client_id,
        "category": "lighting",
        "description": "路灯不亮",
        "place": {"kind": "point", "x": 12.5, "y": 6.0},
    }
    r = call(site, wang, "POST", "/v1/me/incidents", body)
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["x"], made["y"], made["grid"], made["unit"]) == (12.5, 6.0, "g1", None)
    assert made["status"] == "dispatched"  # the grid's worker, as for every report
    again = call(site, wang, "POST", "/v1/me/incidents", body)
    assert (again.status_code, again.json()["id"]) == (200, made["id"])
    assert made["id"] in listed(site, wang)
    assert call(site, wang, "GET", f"/v1/me/incidents/{made['id']}").status_code == 200
    # The neighbour and a worker of another grid: as if it did not exist.
    assert made["id"] not in listed(site, liu)
    assert call(site, liu, "GET", f"/v1/me/incidents/{made['id']}").status_code == 404
    assert call(site, zhao, "GET", f"/v1/me/incidents/{made['id']}").status_code == 404
    # The same client_id from another resident is another report, not this one.
    other = call(site, liu, "POST", "/v1/me/incidents", body)
    assert other.status_code == 201
    assert other.json()["id"] != made["id"]


def test_home_is_the_default_place_and_bad_reports_say_why(
    site: LiveSite, people: dict[str, Who]
) -> None:
    wang = people["wang"]
    made = report(site, wang)
    assert (made["building"], made["storey"], made["unit"]) == ("b1", 1, "1-101")
    for body, status, reason in (
        ({"category": "noize"}, 400, "unknown category 'noize'"),
        ({"place": {"kind": "unit", "building": "b9"}}, 400, "no building 'b9'"),
    ):
        sent = {"client_id": str(uuid.uuid4()), "category": "noise", "description": "x", **body}
        r = call(site, wang, "POST", "/v1/me/incidents", sent)
        assert r.status_code == status, r.text
        assert reason in r.json()["detail"]
    sent = {"client_id": str(uuid.uuid4()), "category": "noise", "description": "x"}
    assert call(site, wang, "POST", "/v1/me/incidents", sent, csrf=False).status_code == 403
    r = call(site, people["zhang"], "POST", "/v1/me/incidents", sent)
    assert r.status_code == 403


def test_the_loop_worker_accepts_notes_resolves_resident_confirms_and_the_kpi_moves(
    site: LiveSite, people: dict[str, Who]
) -> None:
    wang, zhang, zhao = people["wang"], people["zhang"], people["zhao"]
    iid = report(site, wang, category="elevator", place={"kind": "unit", "building": "b1"})["id"]
    assert iid in listed(site, zhang)
    assert iid not in listed(site, zhao)
    assert act(site, zhao, iid, "accept").status_code == 404
    refused = act(site, wang, iid, "accept")
    assert refused.status_code == 403
    assert "may not accept" in refused.json()["detail"]
    accept = {"client_id": str(uuid.uuid4()), "action": "accept"}
    r = call(site, zhang, "POST", f"/v1/me/incidents/{iid}/actions", accept)
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["assignee"]) == ("accepted", "zhang")
    # The phone's offline queue sends it again: nothing changes, one event stored.
    r = call(site, zhang, "POST", f"/v1/me/incidents/{iid}/actions", accept)
    assert (r.status_code, r.json()["status"]) == (200, "accepted")
    stored = site.sql(
        "SELECT count(*) FROM incident_events WHERE community_id = %s AND incident_id = %s"
        " AND event_id = %s",
        (A, iid, f"p{_account(site, 'zhang')}-{accept['client_id']}"),
    )
    assert stored == [(1,)]
    noted = act(site, zhang, iid, "note", note="零件已订")
    assert noted.status_code == 201, noted.text
    assert noted.json()["status"] == "accepted"
    last = noted.json()["events"][-1]
    assert (last["type"], last["note"], last["actor"]) == ("noted", "零件已订", "zhang")
    assert act(site, zhang, iid, "note").status_code == 400  # a note needs a note
    early = act(site, wang, iid, "confirm", satisfaction=5)
    assert early.status_code == 409
    assert early.json()["detail"] == "cannot apply 'closed' to an incident in status 'accepted'"
    assert act(site, zhang, iid, "resolve", note="修好了").json()["status"] == "resolved"
    assert iid in listed(site, wang)  # resolved: waiting for the household's confirmation
    assert act(site, zhang, iid, "confirm", satisfaction=5).status_code == 403
    assert act(site, wang, iid, "confirm").status_code == 400  # a rating is needed
    before = satisfaction(site)
    closed = act(site, wang, iid, "confirm", satisfaction=2)
    assert closed.status_code == 201, closed.text
    assert (closed.json()["status"], closed.json()["satisfaction"]) == ("closed", 2)
    # The timeline names the worker, and of the resident only "household".
    assert closed.json()["events"][-1]["actor"] == "household"
    after = satisfaction(site)
    assert after["today"]["count"] == before["today"]["count"] + 1
    assert after["last_30_days"]["count"] == before["last_30_days"]["count"] + 1
    assert {"key": "g1"}.items() <= after["by_grid"][0].items()
    assert after["today"]["mean"] is not None
    assert 1 <= after["today"]["mean"] <= 5
    base = f"{site.base}/v1/communities/{A}/kpis/satisfaction"
    zoned = httpx.get(f"{base}?tz=Asia/Shanghai", headers=site.headers("reader_a"), timeout=30)
    assert (zoned.status_code, zoned.json()["timezone"]) == (200, "Asia/Shanghai")
    for bad in ("America", "Nowhere/Land", "../etc"):
        r = httpx.get(base, params={"tz": bad}, headers=site.headers("reader_a"), timeout=30)
        assert r.status_code in {400, 422}, (bad, r.text)
    assert iid not in listed(site, wang)
    assert iid in listed(site, wang, status="closed")


def test_reopen_escalate_and_hand_over(site: LiveSite, people: dict[str, Who]) -> None:
    wang, zhang, li, zhao = people["wang"], people["zhang"], people["li"], people["zhao"]
    iid = report(site, wang)["id"]
    assert act(site, zhang, iid, "accept").status_code == 201
    escalated = act(site, zhang, iid, "escalate", note="需要物业配合")
    assert escalated.status_code == 201, escalated.text
    assert (escalated.json()["status"], escalated.json()["escalated"]) == ("accepted", True)
    refused = act(site, zhang, iid, "hand_over", to="zhao")
    assert refused.status_code == 400
    assert "'zhao' is not a worker of grid g1" in refused.json()["detail"]
    handed = act(site, zhang, iid, "hand_over", to="li")
    assert handed.status_code == 201, handed.text
    assert (handed.json()["status"], handed.json()["assignee"]) == ("dispatched", "li")
    assert act(site, li, iid, "accept").json()["assignee"] == "li"
    assert act(site, li, iid, "resolve").json()["status"] == "resolved"
    assert act(site, wang, iid, "reopen").status_code == 400  # say what is still wrong
    reopened = act(site, wang, iid, "reopen", note="还是不行")
    assert reopened.status_code == 201, reopened.text
    assert (reopened.json()["status"], reopened.json()["reopen_count"]) == ("dispatched", 1)
    assert act(site, zhao, iid, "reopen", note="x").status_code == 404


def test_the_office_disables_an_account(site: LiveSite, people: dict[str, Who]) -> None:
    office_made = httpx.post(
        f"{site.base}/v1/communities/{A}/accounts",
        json={"login": "office.chen", "role": "office", "password": PASSWORD},
        headers=site.headers("admin_a"),
        timeout=30,
    )
    assert office_made.status_code == 201, office_made.text
    office = sign_in(site, "office.chen")
    # The office sees and handles the community's reports.
    iid = report(site, people["wang"])["id"]
    assert iid in listed(site, office)
    victim = sign_in(site, "liu")
    account = _account(site, "liu")
    path = f"/v1/communities/{A}/accounts/{account}/disabled"
    assert call(site, office, "PUT", path, csrf=False).status_code == 403
    assert (
        call(site, office, "PUT", f"/v1/communities/{B}/accounts/{account}/disabled").status_code
        == 404
    )
    assert call(site, office, "PUT", path).status_code == 204
    assert call(site, victim, "GET", "/v1/me").status_code == 401  # its sessions ended
    body = {"community": A, "login": "liu", "password": PASSWORD}
    assert httpx.post(f"{site.base}/v1/session", json=body, timeout=30).status_code == 401
    assert call(site, office, "DELETE", path).status_code == 204
    assert httpx.post(f"{site.base}/v1/session", json=body, timeout=30).status_code == 201


def _account(site: LiveSite, login: str) -> int:
    [(ident,)] = site.sql(
        "SELECT id FROM accounts WHERE community_id = %s AND login = %s", (A, login)
    )
    return int(ident)
