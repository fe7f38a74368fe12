"""The whole closed loop, pure: the per-event contract ingest follows, driven end to end.

``Loop`` is what ingest does per incoming event (see twin/incidents/replay.py): check
it against the stored events, store applied and refused ones (dead-lettering
the refused), skip duplicates, then auto-dispatch a fresh report; a clock tick
escalates. Nothing here touches a broker or a database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from tests.twin.incident_builders import T, at, ev
from twin.incidents.dispatch import RaisedAlarm, alarm_incident_event, auto_dispatch
from twin.incidents.escalation import escalations
from twin.incidents.events import IncidentEvent, Location, Status
from twin.incidents.kpis import incident_kpis
from twin.incidents.record import IncidentRecord
from twin.incidents.replay import Applied, Duplicate, check_event

WORKERS = {"g1": "w-zhang", "g2": "w-li"}


@dataclass
class Loop:
    events: dict[str, list[IncidentEvent]] = field(default_factory=lambda: defaultdict(list))
    records: dict[str, IncidentRecord] = field(default_factory=dict)
    dead_letters: list[tuple[str, str]] = field(default_factory=list)
    duplicates: int = 0

    def receive(self, event: IncidentEvent) -> None:
        stored = self.events[event.incident_id]
        out = check_event(stored, event)
        if isinstance(out, Duplicate):
            self.duplicates += 1
            return
        stored.append(event)
        if not isinstance(out, Applied):
            self.dead_letters.append((event.event_id, out.reason))
            return
        self.records[event.incident_id] = out.record
        dispatch = auto_dispatch(out.record, WORKERS)
        if dispatch is not None:
            self.receive(dispatch)

    def tick(self, now: datetime) -> None:
        for e in escalations([r for r in self.records.values() if r.is_open], now):
            self.receive(e)


def test_a_day_in_the_community() -> None:
    loop = Loop()
    g1 = Location(building="b01", storey=3, grid="g1")
    # A resident reports noise; it is dispatched to grid g1's worker at once.
    loop.receive(ev("app-1", T.REPORTED, 0, incident="r-100", category="noise", location=g1))
    assert (loop.records["r-100"].status, loop.records["r-100"].assignee) == (
        Status.DISPATCHED,
        "w-zhang",
    )
    # The worker's phone delivers "resolved" before "accepted": refused, kept, then applied.
    loop.receive(ev("w-2", T.RESOLVED, 60, incident="r-100"))
    assert loop.dead_letters == [
        ("w-2", "cannot apply 'resolved' to an incident in status 'dispatched'")
    ]
    loop.receive(ev("w-1", T.ACCEPTED, 10, incident="r-100"))
    assert loop.records["r-100"].status == Status.RESOLVED
    # The resident closes with a rating; the broker redelivers it twice.
    closing = ev("app-2", T.CLOSED, 120, incident="r-100", satisfaction=4)
    for _ in range(3):
        loop.receive(closing)
    assert loop.duplicates == 2
    # A smoke detector in grid g2 raises a critical alarm: an incident opens and is dispatched.
    alarm = RaisedAlarm("lanting", 17, "smoke", "critical", "smoke-b02-0301", at(30), grid_id="g2")
    report = alarm_incident_event(alarm)
    assert report is not None
    loop.receive(report)
    assert loop.records["alarm-17"].assignee == "w-li"
    # Nobody accepts within 5 minutes: the tick escalates, once, however often it runs.
    for minute in (34, 35, 36, 37, 50):
        loop.tick(at(minute))
    fire = loop.records["alarm-17"]
    assert (fire.status, fire.escalations, fire.escalated_at) == (
        Status.DISPATCHED,
        frozenset({"respond"}),
        at(35),
    )
    loop.receive(ev("w-9", T.ACCEPTED, 52, incident="alarm-17"))
    loop.receive(ev("w-10", T.RESOLVED, 100, incident="alarm-17"))
    # The alarm clears: nothing happens to the incident. The tick at 151 finds it resolved.
    loop.tick(at(151))
    assert loop.records["alarm-17"].escalations == {"respond"}
    loop.receive(ev("app-3", T.CLOSED, 200, incident="alarm-17"))
    # A confused app closes an incident that was only just reported.
    loop.receive(ev("app-4", T.REPORTED, 300, incident="r-200", category="garbage"))
    loop.receive(ev("app-5", T.CLOSED, 301, incident="r-200"))
    assert loop.dead_letters[-1] == (
        "app-5",
        "cannot apply 'closed' to an incident in status 'reported'",
    )
    assert loop.records["r-200"].assignee is None  # no location, no grid: waits for a human

    [k] = incident_kpis(loop.records.values(), start=at(0), end=at(24 * 60), as_of=at(24 * 60))
    # r-100: respond 10 min, close 120 min; alarm-17: respond 22 min (late), close 170 min;
    # r-200 still reported: missed its respond deadline (330); resolve is due at 1740.
    assert (k.reported, k.closed, k.cancelled, k.open) == (3, 2, 0, 1)
    assert k.closed_loop_rate == 2 / 3
    assert (k.respond_median_s, k.close_median_s) == (16 * 60.0, 145 * 60.0)
    assert k.overdue == 2  # alarm-17 (respond), r-200 (respond)
    assert (k.satisfaction_mean, k.satisfaction_count) == (4.0, 1)
    assert k.reopen_rate == 0.0


def test_escalation_survives_a_late_acceptance() -> None:
    """An acceptance dated before the deadline but delivered after the escalation:
    the escalation stays as an annotation, the response counts as on time."""
    loop = Loop()
    loop.receive(
        ev("a", T.REPORTED, 0, incident="r-1", category="fire", location=Location(grid="g1"))
    )
    loop.tick(at(6))
    loop.receive(ev("b", T.ACCEPTED, 4, incident="r-1"))
    r = loop.records["r-1"]
    assert (r.status, r.accepted_at, r.escalated) == (Status.ACCEPTED, at(4), True)
    assert loop.dead_letters == []
    [k] = incident_kpis([r], start=at(0), end=at(60), as_of=at(60))
    assert k.overdue == 0
