"""Reporting and moving incidents over HTTP: published to the broker, applied by a real
``commtwin ingest``, exactly like an app's MQTT messages. 409 for invalid transitions
(naming both states), idempotent retries, 202 without an ingestor, 503 without a broker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.app import create_app
from tests.api.conftest import serve
from tests.api.live_fixtures import LiveSite, ingest_site, wait_until
from tests.api.seed import A, B
from tests.services import Broker, free_port


@pytest.fixture(scope="module")
def site(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    with ingest_site("commtwin_commands", broker.url, tmp_path_factory.mktemp("logs")) as s:
        yield s


def post(
    site: LiveSite, path: str, body: dict[str, Any], role: str = "incidents_a", cid: str = A
) -> httpx.Response:
    return httpx.post(
        f"{site.base}/v1/communities/{cid}{path}", headers=site.headers(role), json=body, timeout=30
    )


def report(site: LiveSite, **extra: Any) -> dict[str, Any]:
    body = {
        "category": "noise",
        "title": "楼道噪音",
        "reporter": "r-1024",
        "location": {"building": "b1", "storey": 1, "unit": "1-101"},
        **extra,
    }
    r = post(site, "/incidents", body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    assert r.headers["location"] == f"/v1/communities/{A}/incidents/{created['id']}"
    return created


def test_a_report_is_applied_by_the_ingestor_and_dispatched_to_the_grid_worker(
    site: LiveSite,
) -> None:
    created = report(site, id="api-r1", event_id="rep-1")
    assert created["id"] == "api-r1"
    assert created["category"] == "noise"
    assert (created["building"], created["storey"], created["unit"]) == ("b1", 1, "1-101")
    # The ingestor located it in grid g1 and dispatched it to g1's worker.
    assert (created["grid"], created["status"], created["assignee"]) == (
        "g1",
        "dispatched",
        "w-zhang",
    )
    types = [(e["event_id"], e["type"], e["applied"]) for e in created["events"]]
    assert types[0] == ("rep-1", "reported", True)
    assert ("dispatched", True) in [(t, a) for _, t, a in types[1:]]

    # It shows in /live like any other open incident.
    def listed() -> bool:
        r = httpx.get(f"{site.base}/v1/communities/{A}/live", headers=site.headers("reader_a"))
        return any(i["id"] == "api-r1" for i in r.json()["incidents"])

    assert wait_until(listed, timeout=5)


def test_transitions_through_the_api_and_409_naming_both_states(site: LiveSite) -> None:
    iid = report(site)["id"]
    assert iid.startswith("r-")
    accepted = post(site, f"/incidents/{iid}/events", {"type": "accepted", "event_id": "acc-1"})
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["status"] == "accepted"
    refused = post(site, f"/incidents/{iid}/events", {"type": "closed", "satisfaction": 5})
    assert refused.status_code == 409
    assert refused.json() == {"detail": "cannot apply 'closed' to an incident in status 'accepted'"}
    resolved = post(site, f"/incidents/{iid}/events", {"type": "resolved", "note": "fixed"})
    assert resolved.json()["status"] == "resolved"
    closed = post(site, f"/incidents/{iid}/events", {"type": "closed", "satisfaction": 5})
    assert closed.status_code == 201
    body = closed.json()
    assert (body["status"], body["satisfaction"]) == ("closed", 5)
    assert [e["type"] for e in body["events"]][-3:] == ["accepted", "resolved", "closed"]
    # Nothing was stored for the refused event.
    assert all(e["applied"] for e in body["events"])
    # A retry of the same event is answered from what is stored.
    again = post(
        site,
        f"/incidents/{iid}/events",
        {
            "type": "accepted",
            "event_id": "acc-1",
            "ts": next(e["ts"] for e in body["events"] if e["event_id"] == "acc-1"),
        },
    )
    assert again.status_code == 200
    assert again.json()["status"] == "closed"
    reused = post(site, f"/incidents/{iid}/events", {"type": "cancelled", "event_id": "acc-1"})
    assert reused.status_code == 409
    assert "acc-1" in reused.json()["detail"]


def test_a_second_report_of_an_existing_incident_is_409(site: LiveSite) -> None:
    iid = report(site)["id"]
    r = post(site, "/incidents", {"id": iid, "category": "noise"})
    assert r.status_code == 409
    assert "'reported'" in r.json()["detail"]


def test_bad_commands(site: LiveSite) -> None:
    r = post(site, "/incidents/nope/events", {"type": "accepted"})
    assert (r.status_code, r.json()["detail"]) == (404, "incident 'nope' not found")
    r = post(site, "/incidents/bad id/events", {"type": "accepted"})
    assert r.status_code == 404
    r = post(site, "/incidents", {"location": {"building": "b1", "storey": 0}})
    assert r.status_code == 400
    assert "storey" in r.json()["detail"]
    r = post(site, "/incidents", {"ts": "2099-01-01T00:00:00Z"})
    assert (r.status_code, r.json()["detail"]) == (
        400,
        "ts: must not be more than 5 minutes in the future",
    )
    iid = report(site)["id"]
    r = post(site, f"/incidents/{iid}/events", {"type": "accepted", "satisfaction": 4})
    assert r.status_code == 400
    assert "satisfaction" in r.json()["detail"]
    r = post(site, f"/incidents/{iid}/events", {"type": "escalated"})
    assert r.status_code == 422
    r = post(site, f"/incidents/{iid}/events", {"type": "accepted", "surprise": 1})
    assert r.status_code == 422


def test_access_to_commands(site: LiveSite) -> None:
    r = post(site, "/incidents", {"category": "noise"}, role="reader_a")
    assert r.status_code == 403
    assert "incidents:write" in r.json()["detail"]
    for role in ("incidents_a", "admin_a"):
        r = post(site, "/incidents", {"category": "noise"}, role=role, cid=B)
        assert r.status_code == 404
        assert r.json() == {"detail": f"community {B!r} not found"}
        r = post(site, "/incidents/x/events", {"type": "accepted"}, role=role, cid=B)
        assert r.status_code == 404


def test_without_an_ingestor_a_command_is_accepted_for_later(
    site: LiveSite, broker: Broker
) -> None:
    cfg = site.config.__class__(
        site.url, mqtt_url=broker.url, topic_root="nobody-listens/v1", commit_timeout_s=0.3
    )
    with serve(create_app(cfg)) as base:
        r = httpx.post(
            f"{base}/v1/communities/{A}/incidents",
            headers=site.headers("incidents_a"),
            json={"id": "later-1", "category": "noise"},
        )
    assert r.status_code == 202
    assert r.json()["incident"] == "later-1"
    assert "not committed" in r.json()["detail"]


def test_an_unreachable_or_missing_broker_is_503(site: LiveSite) -> None:
    closed_port = free_port()
    for mqtt_url, words in (
        (f"mqtt://127.0.0.1:{closed_port}", "unreachable"),
        (None, "no MQTT broker"),
    ):
        cfg = site.config.__class__(site.url, mqtt_url=mqtt_url, commit_timeout_s=1.0)
        with serve(create_app(cfg)) as base:
            r = httpx.post(
                f"{base}/v1/communities/{A}/incidents",
                headers=site.headers("incidents_a"),
                json={"category": "noise"},
            )
        assert r.status_code == 503
        assert words in r.json()["detail"]
