"""GET /live: the snapshot's shape and values, ETag/304, updates by committed changes,
late commits, time (overdue), model imports, access, and rebuilds after a lost link."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from api.app import create_app
from api.db import run_once
from api.live.listener import APPLICATION_NAME
from api.models.live import LiveSnapshot
from api.queries.keys import create_key
from tests.api.conftest import serve
from tests.api.live_fixtures import LiveSite, add_incident, live_site, log_change, wait_until
from tests.api.seed import A, B

NOW = datetime.now(UTC)
TODAY = NOW.replace(hour=0, minute=0, second=0, microsecond=0)
MID_TODAY = TODAY + (NOW - TODAY) / 2


def _incidents(url: str) -> None:
    """Hand-made incidents: 30-day rate 3/5, today's 1/2, one overdue, three open."""
    add_incident(url, A, "r1", "closed", reported_at=MID_TODAY, closed_at=MID_TODAY)
    add_incident(
        url,
        A,
        "r2",
        "dispatched",
        reported_at=MID_TODAY,
        category="noise",
        building_id="b1",
        storey_idx=3,
        grid_id="g1",
        respond_due_at=NOW + timedelta(minutes=10),
        resolve_due_at=NOW + timedelta(hours=20),
    )
    add_incident(url, A, "r3", "cancelled", reported_at=MID_TODAY)
    for iid in ("r4", "r5"):
        add_incident(url, A, iid, "closed", reported_at=NOW - timedelta(days=5))
    add_incident(
        url,
        A,
        "r6",
        "resolved",
        reported_at=NOW - timedelta(days=5, hours=1),
        resolve_due_at=NOW - timedelta(days=4),
        accepted_at=NOW - timedelta(days=5),
    )
    add_incident(
        url,
        A,
        "r7",
        "accepted",
        reported_at=NOW - timedelta(days=40),
        accepted_at=NOW - timedelta(days=40),
        resolve_due_at=NOW - timedelta(days=39),
        building_id="b2",
        storey_idx=1,
        escalated_at=NOW - timedelta(days=39),
    )
    add_incident(url, B, "rb", "dispatched", reported_at=MID_TODAY)


@pytest.fixture(scope="module")
def site() -> Iterator[LiveSite]:
    with live_site("commtwin_live", key_cache_s=1.0) as s:
        _incidents(s.url)
        yield s


def get_live(site: LiveSite, role: str = "reader_a", etag: str | None = None) -> httpx.Response:
    headers = site.headers(role)
    if etag is not None:
        headers["If-None-Match"] = etag
    return httpx.get(f"{site.base}/v1/communities/{A}/live", headers=headers, timeout=10)


def test_snapshot_shape_and_values(site: LiveSite) -> None:
    r = get_live(site)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    snap = LiveSnapshot.model_validate(r.json())
    assert (snap.community, snap.name) == (A, "Alpha 社区")
    k = snap.kpis
    assert (k.devices_total, k.devices_online) == (7, 5)
    assert k.alarms_active.model_dump() == {"critical": 1, "major": 0, "minor": 0, "warning": 1}
    assert (k.incidents_open, k.incidents_overdue) == (3, 1)
    assert k.closed_loop_rate == pytest.approx(3 / 5)
    assert k.closed_loop_rate_30d == pytest.approx(3 / 5)
    assert k.closed_loop_rate_today == pytest.approx(1 / 2)
    assert [(b.id, [s.index for s in b.storeys]) for b in snap.buildings] == [
        ("b1", [-1, 1, 2, 3]),
        ("b2", [1, 2]),
    ]
    b1 = snap.buildings[0]
    assert (b1.status, b1.worst_severity, b1.alarms_active, b1.incidents_open) == (
        "alarm",
        "critical",
        2,
        1,
    )
    storeys = {s.index: s for s in b1.storeys}
    assert storeys[1].scenes.safety == "alarm"
    assert storeys[2].status == "offline"  # env-a2 reported offline
    assert storeys[3].scenes.governance == "warning"  # r2 open, not overdue
    b2 = snap.buildings[1]
    assert b2.scenes.governance == "alarm"  # r7 overdue
    assert [(a.device, a.severity, a.state) for a in snap.alarms] == [
        ("smoke-a1", "critical", "active_unack"),
        ("meter-a1", "warning", "active_ack"),
    ]
    assert [(i.id, i.overdue, i.escalated) for i in snap.incidents] == [
        ("r2", False, False),
        ("r6", False, False),
        ("r7", True, True),
    ]


def test_etag_is_the_version_and_if_none_match_gives_304(site: LiveSite) -> None:
    r = get_live(site)
    etag = r.headers["etag"]
    assert etag == f'"{r.json()["version"]}"'
    assert r.headers["cache-control"] == "no-cache"
    for condition in (etag, f"W/{etag}", f'"nope", {etag}', "*"):
        again = get_live(site, etag=condition)
        assert again.status_code == 304, condition
        assert again.content == b""
        assert again.headers["etag"] == etag
    assert get_live(site, etag='"0.5"').status_code == 200


def test_gzip_and_identity_are_the_same_document_and_version(site: LiveSite) -> None:
    url = f"{site.base}/v1/communities/{A}/live"
    answers: dict[str, tuple[httpx.Headers, bytes]] = {}
    for encoding in ("gzip", "identity"):
        headers = {**site.headers("reader_a"), "Accept-Encoding": encoding}
        with httpx.stream("GET", url, headers=headers) as r:
            raw = b"".join(r.iter_raw())
            answers[encoding] = (r.headers, raw)
    gz_headers, gz_raw = answers["gzip"]
    id_headers, id_raw = answers["identity"]
    assert gz_headers["content-encoding"] == "gzip"
    assert "content-encoding" not in id_headers
    assert gzip.decompress(gz_raw) == id_raw
    assert len(gz_raw) * 3 < len(id_raw)
    assert gz_headers["content-length"] == str(len(gz_raw))
    assert gz_headers["etag"] == id_headers["etag"]
    assert gz_headers["vary"] == id_headers["vary"] == "Accept-Encoding"


def test_a_committed_change_is_served_under_a_new_etag(site: LiveSite) -> None:
    before = get_live(site)
    with psycopg.connect(site.url) as conn, conn.transaction():
        conn.execute(
            "UPDATE devices SET online = false WHERE community_id = %s AND id = 'env-b2'", (A,)
        )
        row = conn.execute(
            "INSERT INTO change_log (community_id, kind, ref, data)"
            " VALUES (%s, 'device', 'env-b2', '{\"online\": false}') RETURNING seq, at",
            (A,),
        ).fetchone()
    assert row is not None
    seq, at = row
    assert wait_until(lambda: get_live(site, etag=before.headers["etag"]).status_code == 200)
    after = get_live(site)
    assert after.headers["etag"] == f'"{seq}"'
    body = after.json()
    assert body["version"] == seq
    assert datetime.fromisoformat(body["last_update"]) == at.replace(
        microsecond=at.microsecond // 1000 * 1000
    )
    assert body["kpis"]["devices_online"] == before.json()["kpis"]["devices_online"] - 1
    b2 = next(b for b in body["buildings"] if b["id"] == "b2")
    assert b2["status"] == "offline"


def test_a_change_committed_late_still_changes_the_etag(site: LiveSite) -> None:
    """Sequences are taken at insert, commits land in another order: the one with the
    smaller sequence, committed last, must not hide behind the bigger version."""
    with psycopg.connect(site.url) as early, psycopg.connect(site.url) as later:
        early.execute(
            "UPDATE alarms SET state = 'cleared', cleared_at = now() WHERE id = %s",
            (site.seeded.alarm_acked,),
        )
        early.execute(
            "INSERT INTO change_log (community_id, kind, ref) VALUES (%s, 'alarm', %s)",
            (A, str(site.seeded.alarm_acked)),
        )
        later.execute(
            "UPDATE devices SET online = true WHERE community_id = %s AND id = 'env-b2'", (A,)
        )
        row = later.execute(
            "INSERT INTO change_log (community_id, kind, ref) VALUES (%s, 'device', 'env-b2')"
            " RETURNING seq",
            (A,),
        ).fetchone()
        assert row is not None
        later.commit()
        big = f'"{row[0]}"'
        assert wait_until(lambda: get_live(site).headers["etag"] == big)
        assert get_live(site).json()["kpis"]["alarms_active"]["warning"] == 1
        early.commit()
    assert wait_until(lambda: get_live(site, etag=big).status_code == 200)
    late = get_live(site)
    assert late.headers["etag"] == f'"{row[0]}.1"'
    assert late.json()["version"] == row[0]
    assert late.json()["kpis"]["alarms_active"]["warning"] == 0
    assert get_live(site, etag=late.headers["etag"]).status_code == 304


def test_a_model_import_rebuilds_the_community(site: LiveSite) -> None:
    site.sql(
        "INSERT INTO buildings (community_id, id, name, footprint, ground_z, roof_z)"
        " VALUES (%s, 'b3', 'new', '{\"type\": \"Polygon\", \"coordinates\": []}', 0, 6)",
        (A,),
    )
    site.sql(
        "INSERT INTO storeys (community_id, building_id, idx, floor_z, height)"
        " VALUES (%s, 'b3', 1, 0, 3), (%s, 'b3', 2, 3, 3)",
        (A, A),
    )
    seq = log_change(site, A, "community", A, {"buildings": {"added": ["b3"]}})
    assert wait_until(lambda: get_live(site).json()["version"] >= seq)
    body = get_live(site).json()
    assert body["model_version"] == seq
    b3 = next(b for b in body["buildings"] if b["id"] == "b3")
    assert [s["index"] for s in b3["storeys"]] == [1, 2]


def test_other_communities_are_404_like_missing_ones(site: LiveSite) -> None:
    for role in ("reader_a", "maintainer_a", "incidents_a", "admin_a"):
        for cid in (B, "no-such"):
            r = httpx.get(f"{site.base}/v1/communities/{cid}/live", headers=site.headers(role))
            assert r.status_code == 404, (role, cid)
            assert r.json() == {"detail": f"community {cid!r} not found"}
    r = httpx.get(f"{site.base}/v1/communities/{B}/live", headers=site.headers("maintainer_b"))
    assert r.status_code == 200
    assert [i["id"] for i in r.json()["incidents"]] == ["rb"]
    assert httpx.get(f"{site.base}/v1/communities/{A}/live").status_code == 401
    bad = httpx.get(f"{site.base}/v1/communities/A_B/live", headers=site.headers("admin"))
    assert bad.status_code == 422


def test_a_revoked_key_stops_within_the_key_cache_time(site: LiveSite) -> None:
    made = run_once(site.url, lambda c: create_key(c, ["cockpit:read"], [A], "short-lived"))
    site.extra_keys["short"] = made.key
    assert get_live(site, "short").status_code == 200
    site.sql("UPDATE api_keys SET revoked_at = now() WHERE prefix = %s", (made.prefix,))
    assert wait_until(lambda: get_live(site, "short").status_code == 401, timeout=3.0)


def test_a_lost_database_link_rebuilds_what_it_may_have_missed(site: LiveSite) -> None:
    before = get_live(site)
    # A change without a notification: only a rebuild can find it.
    site.sql("UPDATE devices SET online = false WHERE community_id = %s AND id = 'parking-1'", (A,))
    killed = site.sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = %s AND datname = current_database()",
        (APPLICATION_NAME,),
    )
    assert killed == [(True,)]
    assert wait_until(lambda: get_live(site, etag=before.headers["etag"]).status_code == 200, 10)
    after = get_live(site)
    assert after.json()["version"] == before.json()["version"]
    assert after.headers["etag"] != before.headers["etag"]
    assert after.json()["kpis"]["devices_online"] == before.json()["kpis"]["devices_online"] - 1


class Clock:
    def __init__(self, t: datetime) -> None:
        self.t = t
        self.lock = threading.Lock()

    def __call__(self) -> datetime:
        with self.lock:
            return self.t


def test_an_incident_becoming_overdue_changes_the_document(site: LiveSite) -> None:
    clock = Clock(NOW)
    with serve(create_app(site.config, now=clock)) as base:
        url = f"{base}/v1/communities/{A}/live"
        headers = site.headers("reader_a")
        first = httpx.get(url, headers=headers)
        r2 = next(i for i in first.json()["incidents"] if i["id"] == "r2")
        assert r2["overdue"] is False
        # At the deadline it is not overdue yet ("due by"), the document stays.
        clock.t = NOW + timedelta(minutes=10)
        same = httpx.get(url, headers={**headers, "If-None-Match": first.headers["etag"]})
        assert same.status_code == 304
        clock.t = NOW + timedelta(minutes=10, seconds=1)
        later = httpx.get(url, headers={**headers, "If-None-Match": first.headers["etag"]})
    assert later.status_code == 200
    version = first.json()["version"]
    assert later.headers["etag"] == f'"{version}.1"'
    body = later.json()
    assert body["version"] == version
    assert next(i for i in body["incidents"] if i["id"] == "r2")["overdue"] is True
    assert body["kpis"]["incidents_overdue"] == first.json()["kpis"]["incidents_overdue"] + 1
    b1 = next(b for b in body["buildings"] if b["id"] == "b1")
    assert {s["index"]: s["scenes"]["governance"] for s in b1["storeys"]}[3] == "alarm"


def test_answers_from_memory_equal_the_routed_ones(site: LiveSite) -> None:
    """With its key cached, /live is answered before routing (api/live/fastpath.py); a key
    not cached yet takes the route. Same statuses, headers and documents."""
    url = f"{site.base}/v1/communities/{A}/live"
    for conditional, encoding in ((False, "gzip"), (False, "identity"), (True, "gzip")):
        made = run_once(site.url, lambda c: create_key(c, ["cockpit:read"], [A], "fresh"))
        headers = {"Authorization": f"Bearer {made.key}", "Accept-Encoding": encoding}
        if conditional:
            headers["If-None-Match"] = get_live(site).headers["etag"]
        routed, remembered = (httpx.get(url, headers=headers) for _ in range(2))
        assert remembered.status_code == routed.status_code == (304 if conditional else 200)
        for name in ("etag", "cache-control", "content-type", "content-length", "vary"):
            assert remembered.headers.get(name) == routed.headers.get(name), name
        assert remembered.content == routed.content  # the same rendered bytes
    metrics = httpx.get(f"{site.base}/metrics").text
    live_route = 'route="/v1/communities/{cid}/live"'
    assert f'commtwin_http_requests_total{{method="GET",{live_route},status="200"}}' in metrics
    assert f'{live_route},status="304"' in metrics


def test_the_rate_limit_holds_for_answers_from_memory(site: LiveSite) -> None:
    limited = replace(site.config, rate_per_s=0.5, rate_burst=3.0)
    with serve(create_app(limited)) as base:
        url = f"{base}/v1/communities/{A}/live"
        codes = [httpx.get(url, headers=site.headers("reader_a")).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        r = httpx.get(url, headers=site.headers("reader_a"))
        assert r.headers["retry-after"] == "2"
