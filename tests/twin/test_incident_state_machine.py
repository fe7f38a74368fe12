"""The incident state machine, one event at a time: every status × every event type."""

from __future__ import annotations

from typing import Any

import pytest

from tests.twin.incident_builders import T, at, ev, history_in, lifecycle
from twin.incidents.events import InvalidEventError, InvalidTransitionError, Location, Status
from twin.incidents.record import IncidentRecord, apply_event
from twin.incidents.replay import replay

STATUSES = ("reported", "dispatched", "accepted", "resolved", "closed", "cancelled")

# (status, event type) → status after, or None when refused. Written out in
# full from the issue rather than derived from the implementation's table.
EXPECTED: dict[tuple[str, T], str | None] = {}
for _s in STATUSES:
    for _t in T:
        EXPECTED[(_s, _t)] = None
EXPECTED.update(
    {
        ("reported", T.DISPATCHED): "dispatched",
        ("reported", T.CANCELLED): "cancelled",
        ("dispatched", T.DISPATCHED): "dispatched",
        ("dispatched", T.ACCEPTED): "accepted",
        ("dispatched", T.CANCELLED): "cancelled",
        ("accepted", T.DISPATCHED): "dispatched",
        ("accepted", T.RESOLVED): "resolved",
        ("accepted", T.CANCELLED): "cancelled",
        ("resolved", T.CLOSED): "closed",
        ("resolved", T.REOPENED): "dispatched",
        ("resolved", T.CANCELLED): "cancelled",
        ("closed", T.REOPENED): "dispatched",
    }
)
for _s in STATUSES:  # escalation is an annotation, allowed everywhere
    EXPECTED[(_s, T.ESCALATED)] = _s
for _s in ("reported", "dispatched", "accepted", "resolved"):  # a note: open incidents
    EXPECTED[(_s, T.NOTED)] = _s


def _extra(t: T) -> dict[str, Any]:
    if t == T.ESCALATED:
        return {"stage": "respond", "source": "auto"}
    if t == T.NOTED:
        return {"note": "called the lift company"}
    if t == T.DISPATCHED:
        return {"assignee": "w-li"}
    return {}


@pytest.mark.parametrize(("status", "etype"), sorted(EXPECTED, key=str))
def test_every_status_and_event_type(status: str, etype: T) -> None:
    record = replay(history_in(status))
    assert record.status == status
    event = ev("new", etype, 500, **_extra(etype))
    expected = EXPECTED[(status, etype)]
    if expected is None:
        with pytest.raises(InvalidTransitionError) as info:
            apply_event(record, event)
        assert str(info.value) == f"cannot apply '{etype}' to an incident in status '{status}'"
        assert info.value.status == status
        assert info.value.event_type == etype
    else:
        after = apply_event(record, event)
        assert after.status == expected
        assert after.event_count == record.event_count + 1
        assert after.last_event_at == at(500)


@pytest.mark.parametrize("etype", [t for t in T if t != T.REPORTED])
def test_nothing_but_reported_starts_an_incident(etype: T) -> None:
    with pytest.raises(InvalidTransitionError, match="has not been reported") as info:
        apply_event(None, ev("x", etype, 0, **_extra(etype)))
    assert info.value.status is None
    assert f"'{etype}'" in str(info.value)


def test_reported_sets_everything_the_report_carries() -> None:
    loc = Location(building="b01", storey=3, unit="1-301", x=1.0, y=2.0, z=9.0, grid="g1")
    r = apply_event(
        None,
        ev(
            "e1",
            T.REPORTED,
            0,
            category="noise",
            title="loud music",
            description="every night",
            reporter="resident-9",
            location=loc,
        ),
    )
    assert (r.community_id, r.id, r.status) == ("lanting", "r-1", Status.REPORTED)
    assert (r.category, r.priority, r.title, r.description, r.reporter) == (
        "noise",
        "normal",
        "loud music",
        "every night",
        "resident-9",
    )
    assert (r.building_id, r.storey_idx, r.unit_id, r.grid_id) == ("b01", 3, "1-301", "g1")
    assert (r.x, r.y, r.z) == (1.0, 2.0, 9.0)
    assert r.reported_at == r.last_event_at == at(0)
    assert r.assignee is None
    assert r.is_open
    assert not r.escalated


def test_full_lifecycle_timestamps_and_satisfaction() -> None:
    r = replay(lifecycle(category="noise"))
    assert r.status == Status.CLOSED
    assert not r.is_open
    assert (r.dispatched_at, r.accepted_at, r.resolved_at, r.closed_at) == (
        at(2),
        at(10),
        at(60),
        at(120),
    )
    assert (r.assignee, r.satisfaction, r.event_count, r.reopen_count) == ("w-zhang", 5, 5, 0)


def test_dispatch_needs_an_assignee_from_the_event_or_the_incident() -> None:
    reported = replay([ev("e1", T.REPORTED, 0)])
    with pytest.raises(
        InvalidTransitionError,
        match=r"cannot apply 'dispatched' to an incident in status 'reported': no assignee",
    ):
        apply_event(reported, ev("e2", T.DISPATCHED, 1))
    preassigned = replay([ev("e1", T.REPORTED, 0, assignee="w-wang")])
    assert apply_event(preassigned, ev("e2", T.DISPATCHED, 1)).assignee == "w-wang"


def test_redispatch_reassigns_keeps_first_times_and_needs_a_new_acceptance() -> None:
    events = [*lifecycle()[:3], ev("e4", T.DISPATCHED, 20, assignee="w-li")]
    r = replay(events)
    assert (r.status, r.assignee) == (Status.DISPATCHED, "w-li")
    # Response time is measured to the first acceptance, dispatch to the first dispatch.
    assert (r.dispatched_at, r.accepted_at) == (at(2), at(10))
    again = apply_event(r, ev("e5", T.ACCEPTED, 25, assignee="w-li"))
    assert (again.status, again.accepted_at) == (Status.ACCEPTED, at(10))


def test_acceptance_by_a_named_worker_takes_the_assignment() -> None:
    r = replay([*lifecycle()[:2], ev("e3", T.ACCEPTED, 5, assignee="w-li")])
    assert r.assignee == "w-li"


def test_reopen_goes_back_to_dispatched_and_forgets_the_closure() -> None:
    events = [*lifecycle(), ev("e6", T.REOPENED, 130, note="still leaking")]
    r = replay(events)
    assert (r.status, r.assignee, r.reopen_count, r.reopened_at) == (
        Status.DISPATCHED,
        "w-zhang",
        1,
        at(130),
    )
    assert (r.resolved_at, r.closed_at, r.satisfaction) == (None, None, None)
    assert r.accepted_at == at(10)
    more = [
        *events,
        ev("e7", T.ACCEPTED, 140),
        ev("e8", T.RESOLVED, 150),
        ev("e9", T.REOPENED, 151, assignee="w-li"),
    ]
    r2 = replay(more)
    assert (r2.reopen_count, r2.assignee, r2.reopened_at) == (2, "w-li", at(151))


def test_cancelled_is_terminal() -> None:
    r = replay(history_in("cancelled"))
    assert (r.status, r.cancelled_at, r.is_open) == (Status.CANCELLED, at(1), False)
    for etype in (T.DISPATCHED, T.REOPENED, T.CANCELLED, T.CLOSED):
        with pytest.raises(InvalidTransitionError, match="in status 'cancelled'"):
            apply_event(r, ev("x", etype, 5, **_extra(etype)))


def test_cancel_after_resolution_keeps_resolved_at() -> None:
    r = replay([*lifecycle()[:4], ev("c", T.CANCELLED, 70)])
    assert (r.status, r.resolved_at, r.cancelled_at) == (Status.CANCELLED, at(60), at(70))


def test_later_events_amend_description_and_move_deadlines() -> None:
    r = replay(
        [
            ev("e1", T.REPORTED, 0, category="noise", title="noise"),
            ev(
                "e2",
                T.DISPATCHED,
                3,
                assignee="w-zhang",
                category="water_leak",
                location=Location(building="b02", grid="g2"),
            ),
        ]
    )
    assert (r.category, r.title, r.building_id, r.grid_id) == ("water_leak", "noise", "b02", "g2")
    # water_leak is a critical category: 5 min / 2 h from the report.
    assert (r.respond_due_at, r.resolve_due_at) == (at(5), at(120))
    r2 = apply_event(r, ev("e3", T.ACCEPTED, 4, priority="low", category="noise"))
    assert (r2.priority, r2.respond_due_at) == ("low", at(30))


def test_escalation_is_an_annotation() -> None:
    r = replay(lifecycle()[:2])
    r1 = apply_event(r, ev("x1", T.ESCALATED, 30, stage="respond", source="auto"))
    r2 = apply_event(r1, ev("x2", T.ESCALATED, 40, stage="resolve", source="auto"))
    assert r2.status == r.status == Status.DISPATCHED
    assert (r2.escalated, r2.escalated_at, r2.escalations) == (
        True,
        at(30),
        frozenset({"respond", "resolve"}),
    )


def test_event_of_another_incident_is_a_caller_error() -> None:
    r = replay(lifecycle()[:1])
    with pytest.raises(InvalidEventError, match="lanting/r-2, not lanting/r-1"):
        apply_event(r, ev("e2", T.DISPATCHED, 1, incident="r-2", assignee="w"))


def test_record_is_frozen() -> None:
    r = replay(lifecycle()[:1])
    assert isinstance(r, IncidentRecord)
    with pytest.raises(AttributeError):
        r.status = Status.CLOSED  # type: ignore[misc]
