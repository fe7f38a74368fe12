"""People's actions on incidents (twin.community.incident_actions) and the satisfaction
KPI (twin.incidents.satisfaction), offline: each refusal and each computed number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from twin.community.incident_actions import ACTIONS, ActionRefusedError, plan
from twin.incidents.categories import KNOWN_CATEGORIES, RESIDENT_CATEGORIES, check_category
from twin.incidents.events import EventType as T
from twin.incidents.events import IncidentEvent, InvalidEventError, Status
from twin.incidents.kpis import KpiQueryError
from twin.incidents.record import IncidentRecord
from twin.incidents.replay import replay
from twin.incidents.satisfaction import satisfaction_kpis
from twin.people.roles import Household, Person, Role
from twin.people.visibility import ReportScope

HOME, NEIGHBOUR = Household("b1", "1-101"), Household("b1", "1-102")
SCOPE = ReportScope("lanting", grid_id="g1", household=HOME)
RESIDENT = Person(1, "lanting", Role.RESIDENT, household=HOME)
ZHANG = Person(2, "lanting", Role.WORKER, grids=frozenset({"g1"}))
LI = Person(3, "lanting", Role.PROPERTY, grids=frozenset({"g1", "g3"}))
ZHAO = Person(4, "lanting", Role.WORKER, grids=frozenset({"g2"}))
OFFICE = Person(5, "lanting", Role.OFFICE)


@pytest.mark.parametrize(
    ("who", "action", "forbidden"),
    [
        (RESIDENT, "accept", True),
        (RESIDENT, "resolve", True),
        (RESIDENT, "hand_over", True),
        (ZHANG, "confirm", True),
        (OFFICE, "reopen", True),
        (Person(6, "lanting", Role.RESIDENT, household=NEIGHBOUR), "confirm", True),
        (ZHANG, "teleport", False),
    ],
)
def test_who_may_not(who: Person, action: str, forbidden: bool) -> None:
    with pytest.raises(ActionRefusedError) as info:
        plan(
            who,
            "x",
            SCOPE,
            Status.RESOLVED,
            action,
            satisfaction=5 if action == "confirm" else None,
        )
    assert info.value.forbidden is forbidden


def test_each_action_becomes_its_events() -> None:
    def types(who: Person, status: Status, action: str, **kw: object) -> list[tuple[str, object]]:
        steps = plan(who, "me", SCOPE, status, action, **kw)  # type: ignore[arg-type]
        return [(s.type.value, s.assignee or s.stage or s.satisfaction or s.note) for s in steps]

    assert types(ZHANG, Status.DISPATCHED, "accept") == [("accepted", "me")]
    assert types(OFFICE, Status.REPORTED, "accept") == [("dispatched", "me"), ("accepted", "me")]
    assert types(ZHANG, Status.ACCEPTED, "note", note="parts") == [("noted", "parts")]
    assert types(ZHANG, Status.ACCEPTED, "resolve") == [("resolved", None)]
    assert types(ZHANG, Status.ACCEPTED, "escalate") == [("escalated", "manual")]
    assert types(LI, Status.ACCEPTED, "hand_over", to=ZHANG, to_login="zhang") == [
        ("dispatched", "zhang")
    ]
    assert types(RESIDENT, Status.RESOLVED, "confirm", satisfaction=4) == [("closed", 4)]
    assert types(RESIDENT, Status.CLOSED, "reopen", note="leaks again") == [
        ("reopened", "leaks again")
    ]
    assert set(ACTIONS) == {
        "accept",
        "note",
        "resolve",
        "hand_over",
        "escalate",
        "confirm",
        "reopen",
    }


@pytest.mark.parametrize(
    ("who", "action", "kw", "reason"),
    [
        (ZHANG, "note", {"note": "  "}, "note needs a note"),
        (RESIDENT, "reopen", {}, "reopen needs a note"),
        (RESIDENT, "confirm", {}, "needs a satisfaction rating"),
        (RESIDENT, "confirm", {"satisfaction": 6}, "needs a satisfaction rating"),
        (ZHANG, "resolve", {"satisfaction": 5}, "only given with confirm"),
        (ZHANG, "hand_over", {}, "needs 'to'"),
        (ZHANG, "hand_over", {"to_login": "ghost"}, "'ghost' is not a worker of grid g1"),
        (ZHANG, "hand_over", {"to": ZHAO, "to_login": "zhao"}, "'zhao' is not a worker"),
        (ZHANG, "hand_over", {"to": OFFICE, "to_login": "boss"}, "'boss' is not a worker"),
    ],
)
def test_what_an_action_needs(who: Person, action: str, kw: dict[str, object], reason: str) -> None:
    with pytest.raises(ActionRefusedError, match=reason) as info:
        plan(who, "me", SCOPE, Status.RESOLVED, action, **kw)  # type: ignore[arg-type]
    assert not info.value.forbidden


def test_categories() -> None:
    assert check_category("care_check") == "care_check"
    assert set(RESIDENT_CATEGORIES) < set(KNOWN_CATEGORIES)
    assert {"fire", "gas_leak", "sos"} <= set(KNOWN_CATEGORIES)
    with pytest.raises(InvalidEventError, match="unknown category 'Noise'"):
        check_category("Noise")


T0 = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)


def _closed(
    iid: str, closed: datetime, rating: int | None, grid: str | None = "g1"
) -> IncidentRecord:
    return IncidentRecord(
        "lanting", iid, Status.CLOSED, closed - timedelta(hours=2), closed,
        grid_id=grid, closed_at=closed, satisfaction=rating,
    )  # fmt: skip


def test_satisfaction_counts_rated_closures_by_closing_time() -> None:
    now = T0 + timedelta(hours=10)
    day = T0 - timedelta(hours=1)  # local midnight, given by the caller
    records = [
        _closed("today", T0 + timedelta(hours=3), 5),
        _closed("yesterday", day - timedelta(minutes=1), 3, grid="g2"),
        _closed("unrated", T0, None),
        _closed("old", now - timedelta(days=30, seconds=1), 1),
        _closed("outside", T0 + timedelta(hours=2), 1, grid=None),
        IncidentRecord("lanting", "open", Status.RESOLVED, T0, T0, grid_id="g1"),
    ]
    s = satisfaction_kpis(records, now=now, day_start=day)
    assert (s.today.mean, s.today.count) == (3.0, 2)
    assert (s.last_30_days.mean, s.last_30_days.count) == (3.0, 3)
    assert [(g.key, g.mean, g.count) for g in s.by_grid] == [
        ("g1", 5.0, 1),
        ("g2", 3.0, 1),
        (None, 1.0, 1),
    ]
    empty = satisfaction_kpis([], now=now, day_start=day)
    assert (empty.today.mean, empty.today.count, empty.by_grid) == (None, 0, ())
    with pytest.raises(KpiQueryError):
        satisfaction_kpis([], now=now, day_start=now + timedelta(seconds=1))


def test_a_reopened_incident_loses_its_rating_and_a_note_changes_nothing() -> None:
    def ev(eid: str, t: T, minutes: int, **kw: object) -> IncidentEvent:
        return IncidentEvent("lanting", "r-1", eid, t, T0 + timedelta(minutes=minutes), **kw)  # type: ignore[arg-type]

    history = [
        ev("e1", T.REPORTED, 0, category="noise"),
        ev("e2", T.DISPATCHED, 1, assignee="zhang"),
        ev("e3", T.ACCEPTED, 2),
        ev("e4", T.NOTED, 3, note="on my way"),
        ev("e5", T.ESCALATED, 4, stage="manual", source="api"),
        ev("e6", T.RESOLVED, 5),
        ev("e7", T.CLOSED, 6, satisfaction=5),
    ]
    closed = replay(history)
    assert (closed.status, closed.satisfaction, closed.escalated) == (Status.CLOSED, 5, True)
    assert replay([h for h in history if h.type != T.NOTED]).status == Status.CLOSED
    reopened = replay([*history, ev("e8", T.REOPENED, 7, note="loud again")])
    now = T0 + timedelta(hours=1)
    assert satisfaction_kpis([reopened], now=now, day_start=T0).last_30_days.count == 0
    assert satisfaction_kpis([closed], now=now, day_start=T0).last_30_days.count == 1
