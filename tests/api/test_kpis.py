"""GET /kpis against values computed by hand, per group and period; bad periods; access."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api.live_fixtures import LiveSite, add_incident, live_site
from tests.api.seed import A, B

NOW = datetime.now(UTC).replace(microsecond=0)
T0 = NOW - timedelta(days=20)
DAY = timedelta(days=1)
MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def seed_incidents(url: str) -> None:
    def closed(iid: str, at: datetime, accept: timedelta, close: timedelta, rating: int) -> None:
        add_incident(
            url,
            A,
            iid,
            "closed",
            reported_at=at,
            category="noise",
            grid_id="g1",
            building_id="b1",
            accepted_at=at + accept,
            resolved_at=at + close - HOUR,
            closed_at=at + close,
            satisfaction=rating,
        )

    closed("k1", T0 + DAY, 10 * MIN, 3 * HOUR, 4)
    closed("k2", T0 + 2 * DAY, 30 * MIN, 6 * HOUR, 2)
    # Resolved once, reopened: dispatched again, counts as reopened.
    add_incident(
        url,
        A,
        "k3",
        "dispatched",
        reported_at=T0 + 3 * DAY,
        category="leak",
        grid_id="g1",
        building_id="b2",
        accepted_at=T0 + 3 * DAY + 20 * MIN,
        reopen_count=1,
    )
    add_incident(
        url,
        A,
        "k4",
        "cancelled",
        reported_at=T0 + 4 * DAY,
        category="leak",
        grid_id="g2",
        building_id="b2",
        cancelled_at=T0 + 4 * DAY + HOUR,
    )
    # Never accepted, past both deadlines: overdue.
    add_incident(
        url,
        A,
        "k5",
        "reported",
        reported_at=T0 + 5 * DAY,
        category="noise",
        building_id="b1",
        respond_due_at=T0 + 5 * DAY + 30 * MIN,
        resolve_due_at=T0 + 6 * DAY,
    )
    # Outside [T0, T0 + 10 d): before it, and exactly at its (exclusive) end.
    add_incident(url, A, "k6", "closed", reported_at=T0 - DAY, closed_at=T0)
    add_incident(url, A, "k7", "reported", reported_at=T0 + 10 * DAY)
    add_incident(url, B, "kb", "closed", reported_at=T0 + DAY, closed_at=T0 + 2 * DAY)


@pytest.fixture(scope="module")
def site() -> Iterator[LiveSite]:
    with live_site("commtwin_kpis") as s:
        seed_incidents(s.url)
        yield s


def kpis(site: LiveSite, role: str = "reader_a", cid: str = A, **params: str) -> httpx.Response:
    return httpx.get(
        f"{site.base}/v1/communities/{cid}/kpis", headers=site.headers(role), params=params
    )


def period(**extra: str) -> dict[str, str]:
    return {"from": T0.isoformat(), "to": (T0 + 10 * DAY).isoformat(), **extra}


def group(key: str | None, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "key": key,
        "reported": 0,
        "closed": 0,
        "cancelled": 0,
        "open": 0,
        "closed_loop_rate": None,
        "respond_median_s": None,
        "respond_p90_s": None,
        "close_median_s": None,
        "close_p90_s": None,
        "overdue": 0,
        "reopened": 0,
        "reopen_rate": None,
        "satisfaction_mean": None,
        "satisfaction_count": 0,
    }
    base.update(values)
    return base


def test_totals_computed_by_hand(site: LiveSite) -> None:
    r = kpis(site, **period())
    assert r.status_code == 200
    body = r.json()
    assert (body["community"], body["by"], body["groups"]) == (A, None, [])
    assert datetime.fromisoformat(body["from"]) == T0
    assert datetime.fromisoformat(body["to"]) == T0 + 10 * DAY
    assert body["total"] == group(
        None,
        reported=5,  # k1..k5
        closed=2,
        cancelled=1,
        open=2,
        closed_loop_rate=2 / 4,  # closed ÷ (reported − cancelled)
        respond_median_s=1200.0,  # 600, 1200, 1800 s
        respond_p90_s=1680.0,  # 1200 + 0.8 × 600
        close_median_s=16200.0,  # 3 h and 6 h
        close_p90_s=20520.0,  # 10800 + 0.9 × 10800
        overdue=1,  # k5
        reopened=1,  # k3
        reopen_rate=1 / 3,  # k3 of k1, k2, k3 ever resolved
        satisfaction_mean=3.0,  # (4 + 2) / 2
        satisfaction_count=2,
    )


def test_by_grid_category_and_building(site: LiveSite) -> None:
    by_grid = kpis(site, **period(by="grid")).json()
    assert by_grid["total"]["reported"] == 5
    grids = {g["key"]: g for g in by_grid["groups"]}
    assert [g["key"] for g in by_grid["groups"]] == ["g1", "g2", None]
    assert (grids["g1"]["reported"], grids["g1"]["closed"]) == (3, 2)
    assert grids["g1"]["closed_loop_rate"] == pytest.approx(2 / 3)
    assert (grids["g2"]["cancelled"], grids["g2"]["closed_loop_rate"]) == (1, None)
    assert (grids[None]["closed_loop_rate"], grids[None]["overdue"]) == (0.0, 1)
    cats = {g["key"]: g for g in kpis(site, **period(by="category")).json()["groups"]}
    assert cats["leak"]["closed_loop_rate"] == 0.0
    assert cats["noise"]["closed_loop_rate"] == pytest.approx(2 / 3)
    assert cats["noise"]["satisfaction_mean"] == 3.0
    buildings = {
        g["key"]: g["reported"] for g in kpis(site, **period(by="building")).json()["groups"]
    }
    assert buildings == {"b1": 3, "b2": 2}


def test_default_period_is_the_last_30_days(site: LiveSite) -> None:
    body = kpis(site).json()
    assert body["total"]["reported"] == 7
    span = datetime.fromisoformat(body["to"]) - datetime.fromisoformat(body["from"])
    assert span == timedelta(days=30)


def test_bad_periods_name_the_parameter(site: LiveSite) -> None:
    r = kpis(site, **{"from": NOW.isoformat(), "to": (NOW - DAY).isoformat()})
    assert (r.status_code, r.json()["detail"]) == (400, "to: must be after from")
    r = kpis(site, **{"from": "1900-01-01T00:00:00Z"})
    assert (r.status_code, r.json()["detail"]) == (400, "from: must be between 1970 and 2500")
    r = kpis(site, **{"from": "yesterday"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "from"]
    r = kpis(site, by="street")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "by"]


def test_other_communities_are_404(site: LiveSite) -> None:
    for role in ("reader_a", "incidents_a", "maintainer_a"):
        for cid in (B, "no-such"):
            r = kpis(site, role, cid)
            assert r.status_code == 404
            assert r.json() == {"detail": f"community {cid!r} not found"}
    b = kpis(site, "maintainer_b", B, **period()).json()
    assert (b["total"]["reported"], b["total"]["closed_loop_rate"]) == (1, 1.0)
