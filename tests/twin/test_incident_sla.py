"""SLA terms, deadlines, overdue, breaches and escalation with an injected clock."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.twin.incident_builders import T, at, ev, lifecycle
from twin.incidents.escalation import escalation_event, escalation_event_id, escalations
from twin.incidents.events import IncidentEvent, SlaConfigError, Status
from twin.incidents.record import IncidentRecord, is_overdue, overdue_stages, sla_breaches
from twin.incidents.replay import Applied, Duplicate, check_event, replay
from twin.incidents.sla import (
    CRITICAL,
    DEFAULT_SLA,
    ORDINARY,
    SlaPolicy,
    SlaTerms,
    load_sla_policy,
    load_sla_policy_json,
    parse_duration,
)

MIN = timedelta(minutes=1)


def test_default_terms_match_the_issue() -> None:
    assert SlaTerms(timedelta(minutes=30), timedelta(hours=24)) == ORDINARY
    assert SlaTerms(timedelta(minutes=5), timedelta(hours=2)) == CRITICAL
    for cat in ("fire", "fall", "sos", "water_leak", "gas_leak"):
        assert DEFAULT_SLA.terms_for(cat, "normal") == CRITICAL
    assert DEFAULT_SLA.terms_for("noise", "normal") == ORDINARY
    assert DEFAULT_SLA.terms_for(None, "normal") == ORDINARY
    assert DEFAULT_SLA.terms_for("noise", "critical") == CRITICAL


def test_category_entry_beats_priority() -> None:
    quick = SlaTerms(timedelta(minutes=1), timedelta(minutes=10))
    policy = SlaPolicy(categories={"noise": quick})
    assert policy.terms_for("noise", "critical") == quick
    assert policy.terms_for("garbage", "critical") == CRITICAL


def test_record_carries_its_deadlines() -> None:
    r = replay([ev("e1", T.REPORTED, 0, category="fire")])
    assert (r.respond_due_at, r.resolve_due_at) == (at(5), at(120))
    custom = load_sla_policy({"default": {"respond": "1h", "resolve": "2d"}})
    r2 = replay([ev("e1", T.REPORTED, 0)], custom)
    assert (r2.respond_due_at, r2.resolve_due_at) == (at(60), at(2 * 24 * 60))


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("1.5h", 5400), (45, 45), (0.5, 0.5)],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value, "x") == timedelta(seconds=seconds)


@pytest.mark.parametrize("value", ["soon", "30", "-5m", "0m", 0, -1, True, None, float("inf")])
def test_bad_durations_name_the_key(value: object) -> None:
    with pytest.raises(SlaConfigError, match=r"^sla\.key: expected a positive duration"):
        parse_duration(value, "sla.key")


def test_full_config_loads_from_json() -> None:
    text = json.dumps(
        {
            "default": {"respond": "1h", "resolve": "48h"},
            "critical": {"respond": "2m", "resolve": "1h"},
            "critical_categories": ["fire", "elevator_trapped"],
            "categories": {"noise": {"resolve": "3d"}, "sos": {"respond": "1m"}},
        }
    )
    p = load_sla_policy_json(text)
    assert p.default == SlaTerms(timedelta(hours=1), timedelta(hours=48))
    assert p.terms_for("elevator_trapped", "normal") == SlaTerms(2 * MIN, timedelta(hours=1))
    assert p.terms_for("fall", "normal") == p.default  # no longer listed as critical
    # A partial category entry completes from what the category had without it.
    assert p.terms_for("noise", "normal") == SlaTerms(timedelta(hours=1), timedelta(days=3))
    assert p.terms_for("sos", "normal") == SlaTerms(MIN, timedelta(hours=48))


def test_empty_config_is_the_default() -> None:
    assert load_sla_policy({}) == DEFAULT_SLA


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ([], r"^sla: expected an object$"),
        ({"defaults": {}}, r"^sla: unknown key 'defaults'$"),
        ({"default": "30m"}, r"^sla\.default: expected an object with respond and resolve$"),
        ({"default": {"respond": "30m", "fix": "1h"}}, r"^sla\.default: unknown key 'fix'$"),
        (
            {"critical": {"respond": "3h"}},
            r"^sla\.critical: respond \(3:00:00\) must not be longer",
        ),
        ({"categories": {"noise": {"resolve": "10m"}}}, r"^sla\.categories\.noise: respond"),
        ({"categories": {"noise": {"respond": "x"}}}, r"^sla\.categories\.noise\.respond: "),
        ({"categories": ["noise"]}, r"^sla\.categories: expected an object"),
        ({"categories": {"": {}}}, r"category names must be non-empty"),
        ({"critical_categories": "fire"}, r"^sla\.critical_categories: expected a list"),
    ],
)
def test_bad_configs_name_the_key(config: Any, message: str) -> None:
    with pytest.raises(SlaConfigError, match=message):
        load_sla_policy(config)


@pytest.mark.parametrize("text", ["{", "", b"\xff"])
def test_bad_json_is_a_config_error(text: str | bytes) -> None:
    with pytest.raises(SlaConfigError, match=r"^sla: not valid JSON"):
        load_sla_policy_json(text)


def _record(*events: IncidentEvent) -> IncidentRecord:
    return replay(list(events))


def test_overdue_stages_through_a_lifecycle() -> None:
    report = ev("e1", T.REPORTED, 0, category="noise")  # respond 30 min, resolve 24 h
    r = _record(report)
    assert overdue_stages(r, at(30)) == frozenset()  # due means "by", not "before"
    assert overdue_stages(r, at(30.01)) == {"respond"}
    assert not is_overdue(r, at(29))
    assert is_overdue(r, at(31))
    accepted = _record(*lifecycle(category="noise")[:3])
    assert overdue_stages(accepted, at(24 * 60)) == frozenset()
    assert overdue_stages(accepted, at(24 * 60 + 1)) == {"resolve"}
    resolved = _record(*lifecycle(category="noise")[:4])
    assert overdue_stages(resolved, at(10_000)) == frozenset()  # awaits the resident
    closed = _record(*lifecycle(category="noise"))
    assert overdue_stages(closed, at(10_000)) == frozenset()
    cancelled = _record(report, ev("c", T.CANCELLED, 1))
    assert overdue_stages(cancelled, at(10_000)) == frozenset()
    never = _record(report)
    assert overdue_stages(never, at(24 * 60 + 1)) == {"respond", "resolve"}


def test_reopen_keeps_the_deadlines_and_becomes_overdue_again() -> None:
    events = [*lifecycle(category="fire"), ev("e6", T.REOPENED, 130)]  # resolve due at 120
    r = _record(*events)
    assert r.resolve_due_at == at(120)
    assert overdue_stages(r, at(131)) == {"resolve"}  # responded already: not respond


def test_breaches_remember_missed_deadlines() -> None:
    late = _record(
        ev("e1", T.REPORTED, 0, category="fire"),
        ev("e2", T.DISPATCHED, 1, assignee="w"),
        ev("e3", T.ACCEPTED, 6),  # respond due at 5
        ev("e4", T.RESOLVED, 100),
        ev("e5", T.CLOSED, 200),
    )
    assert sla_breaches(late, at(1000)) == {"respond"}
    on_time = _record(*lifecycle(category="noise"))
    assert sla_breaches(on_time, at(100_000)) == frozenset()
    waiting = _record(ev("e1", T.REPORTED, 0, category="fire"))
    assert sla_breaches(waiting, at(4)) == frozenset()
    assert sla_breaches(waiting, at(200)) == {"respond", "resolve"}
    cancelled_early = _record(ev("e1", T.REPORTED, 0, category="fire"), ev("c", T.CANCELLED, 4))
    assert sla_breaches(cancelled_early, at(1000)) == frozenset()
    cancelled_late = _record(ev("e1", T.REPORTED, 0, category="fire"), ev("c", T.CANCELLED, 6))
    assert sla_breaches(cancelled_late, at(1000)) == {"respond"}


def test_escalation_events_are_deterministic_and_dated_at_the_deadline() -> None:
    r = _record(ev("e1", T.REPORTED, 0, category="fire"), ev("e2", T.DISPATCHED, 1, assignee="w"))
    assert escalations([r], at(5)) == ()
    [respond] = escalations([r], at(6))
    assert respond == escalation_event(r, "respond")
    assert (respond.event_id, respond.stage, respond.ts, respond.source) == (
        "escalate-respond:r-1",
        "respond",
        at(5),
        "auto",
    )
    assert respond.assignee == "w"
    assert respond.note is not None
    assert "not accepted by" in respond.note
    assert escalations([r], at(7)) == escalations([r], at(6))  # same events every tick
    both = escalations([r], at(121))
    assert [e.stage for e in both] == ["respond", "resolve"]
    assert escalation_event_id("r-1", "resolve") == both[1].event_id


def test_escalation_needs_a_deadline() -> None:
    r = _record(ev("e1", T.REPORTED, 0))
    with pytest.raises(ValueError, match="has no respond deadline"):
        escalation_event(IncidentRecord(**{**r.__dict__, "respond_due_at": None}), "respond")


def test_escalations_over_many_incidents_are_ordered_and_skip_the_done_ones() -> None:
    a = _record(ev("a1", T.REPORTED, 0, incident="a", category="fire"))
    b = _record(ev("b1", T.REPORTED, -10, incident="b", category="noise"))
    c = _record(*lifecycle(incident="c", category="fire"))
    events = escalations([a, c, b], at(15))
    assert [(e.incident_id, e.stage, e.ts) for e in events] == [("a", "respond", at(5))]
    events = escalations([a, c, b], at(125))
    assert [(e.incident_id, e.stage) for e in events] == [
        ("a", "respond"),
        ("b", "respond"),  # due at minute 20
        ("a", "resolve"),
    ]


@settings(deadline=None, max_examples=60)
@given(ticks=st.lists(st.integers(0, 3000), min_size=1, max_size=12))
def test_repeated_ticks_escalate_each_stage_once(ticks: list[int]) -> None:
    """A tick loop as ingest runs it: escalate, apply, repeat with a later clock."""
    stored = [ev("e1", T.REPORTED, 0, category="fire"), ev("e2", T.DISPATCHED, 1, assignee="w")]
    applied: list[str] = []
    for minute in sorted(ticks) + sorted(ticks):  # second pass: redelivered clock
        record = replay(stored)
        for e in escalations([record], at(minute)):
            out = check_event(stored, e)
            assert not isinstance(out, Duplicate)
            assert isinstance(out, Applied)
            assert out.record.status == Status.DISPATCHED
            stored.append(e)
            applied.append(e.event_id)
        # Re-applying the same tick's events (e.g. a second ingestor) is a no-op.
        for e in escalations([replay(stored[:2])], at(minute)):
            assert isinstance(check_event(stored, e), Duplicate)
    expected = [s for s, due in (("respond", 5), ("resolve", 120)) if max(ticks) > due]
    assert applied == [f"escalate-{s}:r-1" for s in expected]
    final = replay(stored)
    assert final.escalations == frozenset(expected)
    assert final.escalated == bool(expected)
