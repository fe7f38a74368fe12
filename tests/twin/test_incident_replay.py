"""Replay by event time and the per-event check ingest calls: order, duplicates, conflicts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.twin.incident_builders import T, ev, lifecycle
from twin.incidents.events import IncidentEvent, InvalidEventError, NotReportedError, Status
from twin.incidents.record import ALLOWED_FROM, IncidentRecord, apply_event
from twin.incidents.replay import Applied, Duplicate, Rejected, check_event, replay, trace

FAST = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
WORKERS = ("w-zhang", "w-li", "w-wang")
CATEGORIES = ("noise", "garbage", "water_leak", "fire", None)


@st.composite
def valid_histories(draw: st.DrawFn) -> list[IncidentEvent]:
    """A random walk through the state machine with strictly increasing event times."""
    minute = 0
    first = ev(
        "e0",
        T.REPORTED,
        minute,
        category=draw(st.sampled_from(CATEGORIES)),
        assignee=draw(st.sampled_from((None, *WORKERS))),
    )
    events = [first]
    record = apply_event(None, first)
    for i in range(1, draw(st.integers(1, 14))):
        choices = [t for t in T if t != T.REPORTED and record.status in ALLOWED_FROM[t]]
        if not choices:
            break
        etype = draw(st.sampled_from(choices))
        fields: dict[str, Any] = {}
        if etype in (T.DISPATCHED, T.ACCEPTED, T.REOPENED):
            worker = draw(st.sampled_from((None, *WORKERS)))
            fields["assignee"] = worker if etype != T.DISPATCHED else worker or "w-zhang"
        if etype == T.CLOSED:
            fields["satisfaction"] = draw(st.sampled_from((None, 1, 3, 5)))
        if etype == T.ESCALATED:
            fields["stage"] = draw(st.sampled_from(("respond", "resolve")))
            fields["source"] = "auto"
        if etype == T.NOTED:
            fields["note"] = "a worker's note"
        minute += draw(st.integers(1, 300))
        e = ev(f"e{i}", etype, minute, **fields)
        record = apply_event(record, e)
        events.append(e)
    return events


@FAST
@given(data=st.data(), history=valid_histories())
def test_any_arrival_order_replays_to_the_same_record(
    data: st.DataObject, history: list[IncidentEvent]
) -> None:
    expected = replay(history)
    assert expected.event_count == len(history)
    shuffled = data.draw(st.permutations(history))
    result = trace(shuffled)
    assert result.record == expected
    assert result.skipped == ()


@FAST
@given(data=st.data(), history=valid_histories())
def test_redelivered_events_are_no_ops(data: st.DataObject, history: list[IncidentEvent]) -> None:
    redelivered = data.draw(st.lists(st.sampled_from(history), max_size=len(history) * 2))
    arrival = data.draw(st.permutations([*history, *redelivered]))
    result = trace(arrival)
    assert result.record == replay(history)
    assert len(result.duplicates) == len(redelivered)


@FAST
@given(data=st.data(), history=valid_histories())
def test_ingest_loop_ends_in_the_same_record_whatever_the_arrival_order(
    data: st.DataObject, history: list[IncidentEvent]
) -> None:
    """Ingest as recommended: store applied AND rejected events, skip duplicates."""
    redelivered = data.draw(st.lists(st.sampled_from(history), max_size=5))
    arrival = data.draw(st.permutations([*history, *redelivered]))
    stored: list[IncidentEvent] = []
    outcomes: dict[type, int] = {Applied: 0, Rejected: 0, Duplicate: 0}
    for e in arrival:
        out = check_event(stored, e)
        outcomes[type(out)] += 1
        if isinstance(out, Duplicate):
            assert out.identical
            continue
        if isinstance(out, Applied):
            assert out.record == replay([*stored, e])
        else:
            assert out.reason.startswith(f"cannot apply '{e.type}' to an incident")
        stored.append(e)
    assert outcomes[Duplicate] == len(redelivered)
    assert len(stored) == len(history)
    assert replay(stored) == replay(history)


@FAST
@given(history=valid_histories())
def test_in_order_delivery_applies_every_event(history: list[IncidentEvent]) -> None:
    stored: list[IncidentEvent] = []
    for e in history:
        out = check_event(stored, e)
        assert isinstance(out, Applied), out
        stored.append(e)


garbage_events = st.builds(
    lambda i, t, minute, worker, sat, stage: ev(
        f"g{i}",
        t,
        minute,
        assignee=worker,
        satisfaction=sat if t == T.CLOSED else None,
        stage=stage if t == T.ESCALATED else None,
        source="auto" if t == T.ESCALATED else "mqtt",
        note="n" if t == T.NOTED else None,
    ),
    st.integers(0, 30),
    st.sampled_from(list(T)),
    st.integers(0, 500),
    st.sampled_from((None, *WORKERS)),
    st.sampled_from((None, 2)),
    st.sampled_from(("respond", "resolve")),
)


def _check_invariants(r: IncidentRecord) -> None:
    if r.status == Status.CLOSED:
        assert r.closed_at is not None
        assert r.resolved_at is not None
    else:
        assert r.closed_at is None
        assert r.satisfaction is None
    if r.status == Status.RESOLVED:
        assert r.resolved_at is not None
    if r.status in (Status.REPORTED, Status.DISPATCHED, Status.ACCEPTED):
        assert r.resolved_at is None
    if r.status in (Status.DISPATCHED, Status.ACCEPTED):
        assert r.assignee is not None
        assert r.dispatched_at is not None
    assert (r.cancelled_at is not None) == (r.status == Status.CANCELLED)
    for t in (r.dispatched_at, r.accepted_at, r.resolved_at, r.closed_at, r.cancelled_at):
        assert t is None or r.reported_at <= t <= r.last_event_at
    if r.accepted_at is not None:
        assert r.dispatched_at is not None
        assert r.dispatched_at <= r.accepted_at


@FAST
@given(data=st.data(), events=st.lists(garbage_events, max_size=25))
def test_arbitrary_event_soup_never_crashes_and_keeps_invariants(
    data: st.DataObject, events: list[IncidentEvent]
) -> None:
    result = trace(events)
    applied = [s for s in result.steps if s.applied]
    assert all(s.reason and "cannot apply" in s.reason for s in result.skipped)
    if result.record is None:
        assert applied == []
        return
    _check_invariants(result.record)
    assert result.record.event_count == len(applied)
    assert result.record.reopen_count == sum(s.event.type == T.REOPENED for s in applied)
    # With distinct times the arrival order never matters, even for refused events.
    unique = {e.event_id: e for e in reversed(events)}.values()
    by_time = {e.ts: e for e in unique}.values()
    shuffled = data.draw(st.permutations(list(by_time)))
    assert trace(shuffled).record == trace(list(by_time)).record


def test_an_early_delivered_acceptance_waits_for_its_dispatch() -> None:
    events = lifecycle()
    stored = [events[0]]
    early = check_event(stored, events[2])
    assert isinstance(early, Rejected)
    assert early.reason == "cannot apply 'accepted' to an incident in status 'reported'"
    assert early.record is not None
    assert early.record.status == Status.REPORTED
    stored.append(events[2])
    late = check_event(stored, events[1])
    assert isinstance(late, Applied)
    assert late.record.status == Status.ACCEPTED
    assert late.newly_applied == (events[2],)
    assert late.newly_skipped == ()


def test_an_event_dated_before_stored_ones_can_displace_them() -> None:
    stored = lifecycle()[:3]  # accepted at minute 10
    out = check_event(stored, ev("c", T.CANCELLED, 5))
    assert isinstance(out, Applied)
    assert out.record.status == Status.CANCELLED
    [displaced] = out.newly_skipped
    assert displaced.event.event_id == "e3"
    assert displaced.reason == "cannot apply 'accepted' to an incident in status 'cancelled'"


def test_duplicate_event_id_with_other_content_is_flagged() -> None:
    stored = lifecycle()[:2]
    same = check_event(stored, lifecycle()[1])
    other = check_event(stored, ev("e2", T.DISPATCHED, 3, assignee="w-li"))
    assert isinstance(same, Duplicate)
    assert same.identical
    assert isinstance(other, Duplicate)
    assert not other.identical
    assert other.existing is stored[1]


def test_first_arrival_of_an_event_id_wins_in_replay() -> None:
    events = [*lifecycle()[:1], ev("d", T.DISPATCHED, 2, assignee="w-li")]
    reuse = ev("d", T.DISPATCHED, 3, assignee="w-wang")
    assert replay([*events, reuse]).assignee == "w-li"
    assert replay([events[0], reuse, events[1]]).assignee == "w-wang"


def test_equal_times_fall_back_to_arrival_order() -> None:
    first = lifecycle()[0]
    a = ev("a", T.DISPATCHED, 5, assignee="w-li")
    b = ev("b", T.DISPATCHED, 5, assignee="w-wang")
    assert replay([first, a, b]).assignee == "w-wang"
    assert replay([first, b, a]).assignee == "w-li"


def test_a_second_report_is_refused_unless_it_is_earlier() -> None:
    stored = lifecycle()[:2]
    out = check_event(stored, ev("r2", T.REPORTED, 1, title="again"))
    assert isinstance(out, Rejected)
    assert out.reason == "cannot apply 'reported' to an incident in status 'reported'"
    # By event time, a report dated earlier is THE report; the stored one is refused.
    earlier = check_event(stored, ev("r0", T.REPORTED, -1, title="first"))
    assert isinstance(earlier, Applied)
    assert (earlier.record.title, earlier.record.reported_at) == (
        "first",
        ev("x", T.REPORTED, -1).ts,
    )
    assert [s.event.event_id for s in earlier.newly_skipped] == ["e1"]


def test_nothing_reported_is_an_error_for_replay_and_a_rejection_for_check() -> None:
    with pytest.raises(NotReportedError, match="no applicable 'reported' event among 0"):
        replay([])
    with pytest.raises(NotReportedError, match="among 1 event"):
        replay([ev("e2", T.DISPATCHED, 1, assignee="w")])
    out = check_event([], ev("e2", T.DISPATCHED, 1, assignee="w"))
    assert isinstance(out, Rejected)
    assert out.record is None
    assert out.reason == "cannot apply 'dispatched' to an incident that has not been reported"


def test_events_of_different_incidents_do_not_mix() -> None:
    with pytest.raises(InvalidEventError, match="is for incident lanting/r-2, not lanting/r-1"):
        trace([*lifecycle()[:1], ev("x", T.CANCELLED, 1, incident="r-2")])
    with pytest.raises(InvalidEventError):
        check_event(lifecycle()[:1], ev("x", T.CANCELLED, 1, community="other"))
