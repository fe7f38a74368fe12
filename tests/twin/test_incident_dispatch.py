"""Auto-dispatch to the grid worker and incidents opened by critical alarms."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.twin.incident_builders import T, at, ev, lifecycle
from twin.incidents.dispatch import (
    AUTO_DISPATCH_DELAY,
    DEFAULT_ALARM_POLICY,
    AlarmIncidentPolicy,
    RaisedAlarm,
    alarm_incident_event,
    alarm_incident_id,
    auto_dispatch,
    auto_dispatch_event_id,
)
from twin.incidents.events import IncidentEvent, Location, Status
from twin.incidents.replay import Applied, Duplicate, check_event, replay

WORKERS = {"g1": "w-zhang", "g2": "w-li", "g3": None}


def _reported(grid: str | None, **fields: Any) -> list[IncidentEvent]:
    loc = Location(building="b01", grid=grid) if grid else None
    return [ev("e1", T.REPORTED, 0, category="noise", location=loc, **fields)]


def test_dispatches_to_the_worker_of_the_incidents_grid() -> None:
    stored = _reported("g2")
    d = auto_dispatch(replay(stored), WORKERS)
    assert d is not None
    assert (d.type, d.assignee, d.source, d.event_id) == (
        T.DISPATCHED,
        "w-li",
        "auto",
        "auto-dispatch:r-1",
    )
    assert d.ts == at(0) + AUTO_DISPATCH_DELAY
    assert d.event_id == auto_dispatch_event_id("r-1")
    assert d.note == "auto-dispatched to the worker of grid g2"
    out = check_event(stored, d)
    assert isinstance(out, Applied)
    assert (out.record.status, out.record.assignee, out.record.dispatched_at) == (
        Status.DISPATCHED,
        "w-li",
        d.ts,
    )
    stored.append(d)
    # Redelivery of the report, then a second decision: both no-ops.
    assert isinstance(check_event(stored, stored[0]), Duplicate)
    again = auto_dispatch(replay(stored[:1]), WORKERS)
    assert again == d
    assert again is not None
    assert isinstance(check_event(stored, again), Duplicate)
    assert auto_dispatch(replay(stored), WORKERS) is None  # already dispatched


@pytest.mark.parametrize(
    ("grid", "fields"),
    [
        (None, {}),  # not located in any grid
        ("g3", {}),  # grid without a responsible worker
        ("g9", {}),  # grid unknown to the mapping
        ("g1", {"assignee": "w-wang"}),  # the report named its assignee
    ],
)
def test_no_dispatch_when_there_is_no_one_to_choose(
    grid: str | None, fields: dict[str, Any]
) -> None:
    assert auto_dispatch(replay(_reported(grid, **fields)), WORKERS) is None


def test_no_dispatch_past_reported() -> None:
    for n in (2, 3, 4, 5):
        events = lifecycle()[:n]
        record = replay(events)
        located = replace(record, grid_id="g1", assignee=None)
        assert auto_dispatch(located, WORKERS) is None, record.status
    cancelled = replay([*_reported("g1"), ev("c", T.CANCELLED, 1)])
    assert auto_dispatch(cancelled, WORKERS) is None


def test_a_human_dispatch_dated_after_the_report_wins() -> None:
    stored = _reported("g1")
    human = ev("h", T.DISPATCHED, 0.5, assignee="w-wang", source="api")
    stored.append(human)
    auto = auto_dispatch(replay(stored[:1]), WORKERS)  # decided before the human event arrived
    assert auto is not None
    out = check_event(stored, auto)
    assert isinstance(out, Applied)
    assert out.record.assignee == "w-wang"  # re-assigned by the later human dispatch


ALARM = RaisedAlarm(
    community_id="lanting",
    alarm_id=17,
    rule_id="smoke",
    severity="critical",
    device_id="smoke-b01-0101",
    raised_at=at(3),
    message="smoke detected",
    building_id="b01",
    storey_idx=1,
    unit_id="1-101",
    grid_id="g1",
    x=3.0,
    y=4.0,
    z=1.5,
)


def test_a_critical_alarm_opens_a_linked_incident() -> None:
    e = alarm_incident_event(ALARM)
    assert e is not None
    assert (e.incident_id, e.event_id, e.type, e.ts, e.source) == (
        "alarm-17",
        "alarm-17:reported",
        T.REPORTED,
        at(3),
        "auto",
    )
    assert e.incident_id == alarm_incident_id(17)
    assert (e.category, e.priority, e.alarm_id, e.reporter) == (
        "fire",
        "critical",
        17,
        "device:smoke-b01-0101",
    )
    assert e.title == "smoke detected (smoke-b01-0101)"
    r = replay([e])
    assert (r.alarm_id, r.building_id, r.storey_idx, r.unit_id, r.grid_id) == (
        17,
        "b01",
        1,
        "1-101",
        "g1",
    )
    assert (r.x, r.y, r.z) == (3.0, 4.0, 1.5)
    assert (r.respond_due_at, r.resolve_due_at) == (at(8), at(123))  # critical: 5 min / 2 h
    d = auto_dispatch(r, WORKERS)
    assert d is not None
    assert d.assignee == "w-zhang"


@pytest.mark.parametrize(
    ("rule", "category"),
    [
        ("smoke", "fire"),
        ("water_leak", "water_leak"),
        ("gas", "gas_leak"),
        ("fall", "fall"),
        ("sos", "sos"),
    ],
)
def test_default_alarm_categories(rule: str, category: str) -> None:
    e = alarm_incident_event(replace(ALARM, rule_id=rule))
    assert e is not None
    assert e.category == category


@pytest.mark.parametrize(
    "alarm",
    [
        replace(ALARM, severity="major"),  # a gas alarm below the critical level
        replace(ALARM, rule_id="elevator_fault"),
        replace(ALARM, rule_id="door_left_open", severity="critical"),
    ],
)
def test_other_alarms_open_nothing(alarm: RaisedAlarm) -> None:
    assert alarm_incident_event(alarm) is None


def test_alarm_policy_is_configurable() -> None:
    policy = AlarmIncidentPolicy(
        categories={"elevator_fault": "elevator"}, severities=frozenset({"major", "critical"})
    )
    e = alarm_incident_event(replace(ALARM, rule_id="elevator_fault", severity="major"), policy)
    assert e is not None
    assert (e.category, e.priority) == ("elevator", "critical")
    assert alarm_incident_event(ALARM, policy) is None  # smoke not in this policy
    assert DEFAULT_ALARM_POLICY.severities == {"critical"}


def test_alarm_without_location_or_message() -> None:
    bare = RaisedAlarm("lanting", 5, "sos", "critical", "wear-0001", at(0))
    e = alarm_incident_event(bare)
    assert e is not None
    assert (e.location, e.title) == (None, "sos (wear-0001)")
    assert auto_dispatch(replay([e]), WORKERS) is None  # no grid: waits for a human


def test_the_same_alarm_twice_is_one_incident_and_clearing_changes_nothing() -> None:
    first = alarm_incident_event(ALARM)
    again = alarm_incident_event(replace(ALARM, message="smoke still detected"))
    assert first is not None
    assert again is not None
    out = check_event([first], again)
    assert isinstance(out, Duplicate)
    assert not out.identical  # same ids, the stored report stands
    # There is deliberately no "alarm cleared" transition: the incident stays open.
    assert replay([first]).is_open
