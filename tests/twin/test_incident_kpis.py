"""KPIs checked against values computed by hand (in the comments) for a small community."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from twin.incidents.events import EventType, IncidentEvent, Location
from twin.incidents.kpis import IncidentKpis, KpiQueryError, incident_kpis
from twin.incidents.record import IncidentRecord
from twin.incidents.replay import replay

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DAY = timedelta(days=1)
T = EventType


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def incident(
    iid: str,
    category: str,
    grid: str | None,
    building: str | None,
    *steps: tuple[EventType, float] | tuple[EventType, float, dict[str, Any]],
    community: str = "lanting",
) -> IncidentRecord:
    loc = Location(building=building, grid=grid) if grid or building else None
    events = [
        IncidentEvent(
            community,
            iid,
            f"{iid}-{n}",
            step[0],
            m(step[1]),
            category=category if step[0] == T.REPORTED else None,
            location=loc if step[0] == T.REPORTED else None,
            assignee="w-1" if step[0] == T.DISPATCHED else None,
            **(step[2] if len(step) == 3 else {}),
        )
        for n, step in enumerate(steps)
    ]
    return replay(events)


def near(x: float) -> Any:
    """pytest.approx typed loosely so it can stand in for a float field."""
    return pytest.approx(x)


def sat(n: int) -> dict[str, Any]:
    return {"satisfaction": n}


D, A, R, C = T.DISPATCHED, T.ACCEPTED, T.RESOLVED, T.CLOSED
# SLA: noise/garbage respond 30 min, resolve 24 h; fire respond 5 min, resolve 2 h.
# Times in minutes after T0. Respond = reported → first accepted; close = reported → closed.
RECORDS = [
    # respond 5 min = 300 s, close 100 min = 6000 s, rated 5
    incident("n1", "noise", "g1", "b01",
             (T.REPORTED, 0), (D, 1), (A, 5), (R, 60), (C, 100, sat(5))),
    # respond 20 min = 1200 s, close 240 min = 14400 s, rated 3
    incident("n2", "noise", "g1", "b01",
             (T.REPORTED, 10), (D, 12), (A, 30), (R, 200), (C, 250, sat(3))),
    # respond 80 min = 4800 s (missed the 30 min deadline), reopened once,
    # close 580 min = 34800 s, rated 2
    incident(
        "n3", "noise", "g2", "b02",
        (T.REPORTED, 20), (D, 21), (A, 100), (R, 300), (T.REOPENED, 400), (A, 410), (R, 500),
        (C, 600, sat(2)),
    ),
    # respond 3 min = 180 s, close 100 min = 6000 s, not rated
    incident("f1", "fire", "g1", "b01", (T.REPORTED, 30), (D, 31), (A, 33), (R, 100), (C, 130)),
    # respond 10 min = 600 s (missed the 5 min deadline); resolved, awaiting closure
    incident("f2", "fire", "g2", "b02", (T.REPORTED, 40), (D, 41), (A, 50), (R, 120)),
    # withdrawn before its respond deadline: no breach, out of the rate's denominator
    incident("x1", "garbage", "g1", None, (T.REPORTED, 50), (T.CANCELLED, 55)),
    # still waiting at as_of (minute 2000): missed respond (90) and resolve (1500)
    incident("x2", "garbage", "g2", "b02", (T.REPORTED, 60), (D, 61)),
    # outside the period [T0, T0 + 1 day)
    incident("old", "noise", "g1", "b01", (T.REPORTED, -1), (D, 0), (A, 1), (R, 2), (C, 3)),
    incident("new", "noise", "g1", "b01", (T.REPORTED, 24 * 60)),
]  # fmt: skip
AS_OF = m(2000)


def kpis(by: Any = None, records: list[IncidentRecord] = RECORDS) -> tuple[IncidentKpis, ...]:
    return incident_kpis(records, start=T0, end=T0 + DAY, as_of=AS_OF, by=by)


def test_whole_period() -> None:
    [k] = kpis()
    assert k == IncidentKpis(
        key=None,
        reported=7,
        closed=4,  # n1 n2 n3 f1
        cancelled=1,  # x1
        open=2,  # f2 x2
        closed_loop_rate=near(4 / 6),  # 4 closed ÷ (7 reported − 1 cancelled)
        # respond [180, 300, 600, 1200, 4800]: median 600;
        # p90 at rank 0.9·4 = 3.6 → 1200 + 0.6·(4800 − 1200) = 3360
        respond_median_s=600.0,
        respond_p90_s=near(3360.0),
        # close [6000, 6000, 14400, 34800]: median (6000 + 14400) / 2 = 10200;
        # p90 at rank 0.9·3 = 2.7 → 14400 + 0.7·(34800 − 14400) = 28680
        close_median_s=10200.0,
        close_p90_s=near(28680.0),
        overdue=3,  # n3 (respond), f2 (respond), x2 (respond + resolve)
        reopened=1,  # n3
        reopen_rate=near(1 / 5),  # ever resolved: n1 n2 n3 f1 f2
        satisfaction_mean=near(10 / 3),  # (5 + 3 + 2) / 3
        satisfaction_count=3,
    )


def test_by_grid() -> None:
    g1, g2 = kpis("grid")
    # g1: n1 n2 f1 x1. respond [180, 300, 1200]: p90 rank 1.8 → 300 + 0.8·900 = 1020;
    # close [6000, 6000, 14400]: p90 rank 1.8 → 6000 + 0.8·8400 = 12720
    assert (g1.key, g1.reported, g1.closed, g1.cancelled, g1.open) == ("g1", 4, 3, 1, 0)
    assert g1.closed_loop_rate == 1.0
    assert (g1.respond_median_s, g1.respond_p90_s) == (300.0, near(1020.0))
    assert (g1.close_median_s, g1.close_p90_s) == (6000.0, near(12720.0))
    assert (g1.overdue, g1.reopened, g1.reopen_rate) == (0, 0, 0.0)
    assert (g1.satisfaction_mean, g1.satisfaction_count) == (4.0, 2)
    # g2: n3 f2 x2. respond [600, 4800]: median 2700, p90 rank 0.9 → 600 + 0.9·4200 = 4380
    assert (g2.key, g2.reported, g2.closed, g2.cancelled, g2.open) == ("g2", 3, 1, 0, 2)
    assert g2.closed_loop_rate == near(1 / 3)
    assert (g2.respond_median_s, g2.respond_p90_s) == (2700.0, near(4380.0))
    assert (g2.close_median_s, g2.close_p90_s) == (34800.0, 34800.0)
    assert (g2.overdue, g2.reopened, g2.reopen_rate) == (3, 1, 0.5)
    assert (g2.satisfaction_mean, g2.satisfaction_count) == (2.0, 1)


def test_by_building_lists_the_unlocated_last() -> None:
    b01, b02, none = kpis("building")
    assert (b01.key, b01.reported, b01.closed, b01.closed_loop_rate) == ("b01", 3, 3, 1.0)
    assert (b02.key, b02.reported, b02.closed, b02.overdue) == ("b02", 3, 1, 3)
    # x1 alone: reported then cancelled; no rate, no samples.
    assert none == IncidentKpis(
        key=None,
        reported=1,
        closed=0,
        cancelled=1,
        open=0,
        closed_loop_rate=None,
        respond_median_s=None,
        respond_p90_s=None,
        close_median_s=None,
        close_p90_s=None,
        overdue=0,
        reopened=0,
        reopen_rate=None,
        satisfaction_mean=None,
        satisfaction_count=0,
    )


def test_by_category() -> None:
    fire, garbage, noise = kpis("category")
    # fire: f1 f2. respond [180, 600]: median 390, p90 rank 0.9 → 180 + 0.9·420 = 558
    assert (fire.key, fire.reported, fire.closed, fire.closed_loop_rate) == ("fire", 2, 1, 0.5)
    assert (fire.respond_median_s, fire.respond_p90_s) == (390.0, near(558.0))
    assert (fire.overdue, fire.reopen_rate, fire.satisfaction_mean) == (1, 0.0, None)
    # garbage: x1 cancelled, x2 waiting → 0 closed ÷ 1 counted
    assert (garbage.key, garbage.closed_loop_rate, garbage.open, garbage.overdue) == (
        "garbage",
        0.0,
        1,
        1,
    )
    assert (garbage.respond_median_s, garbage.reopen_rate) == (None, None)
    # noise: respond [300, 1200, 4800]: p90 rank 1.8 → 1200 + 0.8·3600 = 4080;
    # close [6000, 14400, 34800]: p90 rank 1.8 → 14400 + 0.8·20400 = 30720
    assert (noise.key, noise.reported, noise.closed_loop_rate) == ("noise", 3, 1.0)
    assert (noise.respond_median_s, noise.respond_p90_s) == (1200.0, near(4080.0))
    assert (noise.close_median_s, noise.close_p90_s) == (14400.0, near(30720.0))
    assert (noise.reopened, noise.reopen_rate) == (1, near(1 / 3))


def test_by_community() -> None:
    other = incident("h1", "noise", None, None, (T.REPORTED, 5), (D, 6), community="hills")
    hills, lanting = kpis("community", [*RECORDS, other])
    assert (hills.key, hills.reported, hills.closed, hills.closed_loop_rate) == ("hills", 1, 0, 0.0)
    assert (lanting.key, lanting.reported, lanting.closed) == ("lanting", 7, 4)


def test_period_bounds_are_half_open() -> None:
    [k] = incident_kpis(RECORDS, start=m(-1), end=m(10), as_of=AS_OF)
    assert k.reported == 2  # "old" at -1 counts, n2 at 10 does not
    [empty] = incident_kpis(RECORDS, start=m(3000), end=m(4000), as_of=AS_OF)
    assert (empty.reported, empty.closed_loop_rate, empty.respond_median_s) == (0, None, None)
    assert incident_kpis(RECORDS, start=m(3000), end=m(4000), as_of=AS_OF, by="grid") == ()


def test_as_of_ends_the_wait_of_open_incidents() -> None:
    x2 = [r for r in RECORDS if r.id == "x2"]
    early = incident_kpis(x2, start=T0, end=T0 + DAY, as_of=m(90))
    late = incident_kpis(x2, start=T0, end=T0 + DAY, as_of=m(91))
    assert (early[0].overdue, late[0].overdue) == (0, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": datetime(2026, 11, 1)}, "timezone-aware"),
        ({"end": T0}, r"end \(2026-11-01T00:00:00\+00:00\) must be after start"),
        ({"by": "storey"}, "cannot group by 'storey' .known: community, grid, building, category"),
    ],
)
def test_bad_queries_say_why(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"start": T0, "end": T0 + DAY, "as_of": AS_OF, **kwargs}
    with pytest.raises(KpiQueryError, match=message):
        incident_kpis(RECORDS, **args)
