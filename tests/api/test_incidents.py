"""GET /incidents (filters, pages) and /incidents/{iid} (status and timeline), access.
Reports and transitions through the broker and the ingestor: test_incidents_commands.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.live_fixtures import LiveSite, add_incident, live_site
from tests.api.seed import A, B

NOW = datetime.now(UTC).replace(microsecond=0)
H = timedelta(hours=1)


def seed_incidents(site: LiveSite) -> None:
    add_incident(
        site.url,
        A,
        "n1",
        "closed",
        reported_at=NOW - 30 * H,
        category="noise",
        grid_id="g1",
        closed_at=NOW - 20 * H,
        satisfaction=5,
    )
    add_incident(
        site.url,
        A,
        "n2",
        "dispatched",
        reported_at=NOW - 10 * H,
        category="noise",
        grid_id="g1",
        assignee="w-zhang",
        respond_due_at=NOW - 9 * H,
        resolve_due_at=NOW + 14 * H,
        building_id="b1",
        storey_idx=2,
        unit_id="1-201",
    )
    add_incident(
        site.url,
        A,
        "n3",
        "accepted",
        reported_at=NOW - 2 * H,
        category="leak",
        grid_id="g2",
        accepted_at=NOW - H,
        respond_due_at=NOW - H,
        resolve_due_at=NOW + H,
    )
    add_incident(site.url, A, "n4", "cancelled", reported_at=NOW - H, category="leak")
    add_incident(site.url, B, "nb", "reported", reported_at=NOW - H)
    events: list[tuple[str, str, int, dict[str, Any]]] = [
        ("e1", "reported", 30, {"category": "noise"}),
        ("e2", "dispatched", 29, {}),
        ("e3", "accepted", 28, {}),
        ("e4", "resolved", 22, {}),
        ("e5", "accepted", 21, {}),  # too late: resolved by then
        ("e6", "closed", 20, {"satisfaction": 5}),
    ]
    for eid, kind, hours_ago, data in events:
        site.sql(
            "INSERT INTO incident_events (community_id, incident_id, event_id, type, ts,"
            " source, actor, assignee, note, data) VALUES (%s, 'n1', %s, %s, %s, 'mqtt',"
            " 'w-zhang', 'w-zhang', %s, %s)",
            (A, eid, kind, NOW - hours_ago * H, f"note {eid}", json.dumps(data)),
        )
    # A hand-written row that is no valid event.
    site.sql(
        "INSERT INTO incident_events (community_id, incident_id, event_id, type, ts)"
        " VALUES (%s, 'n1', 'x1', 'teleported', %s)",
        (A, NOW - 25 * H),
    )


@pytest.fixture(scope="module")
def site() -> Iterator[LiveSite]:
    with live_site("commtwin_incidents") as s:
        seed_incidents(s)
        yield s


def ids(site: LiveSite, role: str = "reader_a", **params: str) -> list[str]:
    r = httpx.get(
        f"{site.base}/v1/communities/{A}/incidents", headers=site.headers(role), params=params
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] >= len(body["data"])
    return [i["id"] for i in body["data"]]


def test_list_newest_first_with_filters(site: LiveSite) -> None:
    assert ids(site) == ["n4", "n3", "n2", "n1"]
    assert ids(site, status="open") == ["n3", "n2"]
    assert ids(site, status="closed") == ["n1"]
    assert ids(site, category="leak") == ["n4", "n3"]
    assert ids(site, grid="g1") == ["n2", "n1"]
    assert ids(site, overdue="true") == ["n2"]  # respond deadline passed, never accepted
    assert ids(site, overdue="false") == ["n4", "n3", "n1"]
    since = (NOW - 5 * H).isoformat()
    assert ids(site, **{"from": since}) == ["n4", "n3"]
    assert ids(site, **{"from": (NOW - 20 * H).isoformat(), "to": since}) == ["n2"]


def test_pages_and_count(site: LiveSite) -> None:
    url = f"{site.base}/v1/communities/{A}/incidents"
    page = httpx.get(url, headers=site.headers("reader_a"), params={"limit": 2, "offset": 1}).json()
    assert page["count"] == 4
    assert [i["id"] for i in page["data"]] == ["n3", "n2"]
    n2 = page["data"][1]
    assert (n2["overdue"], n2["building"], n2["storey"], n2["unit"]) == (True, "b1", 2, "1-201")


def test_bad_filters_name_the_parameter(site: LiveSite) -> None:
    url = f"{site.base}/v1/communities/{A}/incidents"
    h = site.headers("reader_a")
    r = httpx.get(url, headers=h, params={"from": NOW.isoformat(), "to": (NOW - H).isoformat()})
    assert (r.status_code, r.json()["detail"]) == (400, "to: must be after from")
    r = httpx.get(url, headers=h, params={"status": "lost"})
    assert (r.status_code, r.json()["detail"][0]["loc"]) == (422, ["query", "status"])
    r = httpx.get(url, headers=h, params={"limit": 0})
    assert r.status_code == 422


def test_one_incident_with_its_timeline(site: LiveSite) -> None:
    r = httpx.get(f"{site.base}/v1/communities/{A}/incidents/n1", headers=site.headers("reader_a"))
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["satisfaction"], body["overdue"]) == ("closed", 5, False)
    timeline = [(e["event_id"], e["type"], e["applied"]) for e in body["events"]]
    assert timeline == [
        ("e1", "reported", True),
        ("e2", "dispatched", True),
        ("e3", "accepted", True),
        ("x1", "teleported", None),
        ("e4", "resolved", True),
        ("e5", "accepted", False),
        ("e6", "closed", True),
    ]
    skipped = next(e for e in body["events"] if e["event_id"] == "e5")
    assert skipped["reason"] == "cannot apply 'accepted' to an incident in status 'resolved'"
    e6 = body["events"][-1]
    assert (e6["note"], e6["actor"], e6["data"]) == ("note e6", "w-zhang", {"satisfaction": 5})
    assert body["events"][3]["reason"] == "not a valid incident event"


def test_unknown_and_other_communities_incidents_are_404(site: LiveSite) -> None:
    h = site.headers("reader_a")
    r = httpx.get(f"{site.base}/v1/communities/{A}/incidents/nope", headers=h)
    assert (r.status_code, r.json()["detail"]) == (404, "incident 'nope' not found")
    # B's incident through A's path, and B's paths with A's keys.
    assert httpx.get(f"{site.base}/v1/communities/{A}/incidents/nb", headers=h).status_code == 404
    for role in ("reader_a", "incidents_a", "admin_a"):
        for path in ("/incidents", "/incidents/nb"):
            r = httpx.get(f"{site.base}/v1/communities/{B}{path}", headers=site.headers(role))
            assert r.status_code == 404
            assert r.json() == {"detail": f"community {B!r} not found"}
    other = httpx.get(
        f"{site.base}/v1/communities/{B}/incidents/nb", headers=site.headers("maintainer_b")
    )
    assert other.json()["status"] == "reported"
    assert httpx.get(f"{site.base}/v1/communities/{A}/incidents").status_code == 401
