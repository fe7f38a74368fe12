#!/usr/bin/env python3
"""Incident core timings: per-event check, rebuilding records, KPIs, escalation ticks.

Pure CPU, one process. Incident events are rare next to telemetry (a large
community sees a few thousand a day), so the targets are about headroom: the
per-event check must never be what slows a batch, and the API must be able to
rebuild every record of a year and compute KPIs over it at start-up.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from twin.incidents.escalation import escalations
from twin.incidents.events import EventType as T
from twin.incidents.events import IncidentEvent, Location
from twin.incidents.kpis import incident_kpis
from twin.incidents.replay import IncidentRecord, check_event, replay

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CATEGORIES = ("noise", "garbage", "parking", "water_leak", "fire", "facade")


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    print(
        json.dumps(
            {"bench": "incidents", "metric": metric, "value": round(value, 1), "unit": unit,
             "ref": ref}
        ),
        flush=True,
    )  # fmt: skip


def history(n: int, rng: random.Random) -> list[IncidentEvent]:
    """A closed lifecycle, reopened one time in ten: 5 or 8 events."""
    start = T0 + timedelta(minutes=rng.randrange(365 * 24 * 60))
    iid = f"r-{n}"
    loc = Location(building=f"b{n % 40:02d}", storey=1 + n % 18, grid=f"g{n % 8}")

    def e(k: int, t: T, minutes: float, **kw: object) -> IncidentEvent:
        ts = start + timedelta(minutes=minutes)
        return IncidentEvent("bench", iid, f"{iid}-{k}", t, ts, **kw)  # type: ignore[arg-type]

    events = [
        e(0, T.REPORTED, 0, category=rng.choice(CATEGORIES), location=loc),
        e(1, T.DISPATCHED, 0.1, assignee=f"w-{n % 8}"),
        e(2, T.ACCEPTED, rng.uniform(1, 60)),
        e(3, T.RESOLVED, rng.uniform(61, 2000)),
    ]
    if rng.random() < 0.1:
        events += [e(4, T.REOPENED, 2001), e(5, T.ACCEPTED, 2010), e(6, T.RESOLVED, 2100)]
    events.append(e(9, T.CLOSED, 2200, satisfaction=rng.randint(1, 5)))
    return events


def timed(fn: Callable[[], object]) -> float:
    # CPU time of this single-threaded process: the machine is shared, and
    # wall time would measure the neighbours as much as this code.
    t = time.process_time()
    fn()
    return time.process_time() - t


def main() -> None:
    rng = random.Random(7)
    histories = [history(n, rng) for n in range(20_000)]

    def check_all() -> None:
        # Each event checked against the ones before it, in a shuffled arrival order.
        for h in histories[:5000]:
            stored: list[IncidentEvent] = []
            for ev in rng.sample(h, len(h)):
                check_event(stored, ev)
                stored.append(ev)

    n_events = sum(len(h) for h in histories[:5000])
    emit("check_event_per_s", n_events / timed(check_all), "events/s", ">= 5000")

    records: list[IncidentRecord] = []
    secs = timed(lambda: records.extend(replay(h) for h in histories))
    emit("replay_incidents_per_s", len(histories) / secs, "incidents/s", ">= 10000")

    end = T0 + timedelta(days=366)
    secs = timed(lambda: incident_kpis(records, start=T0, end=end, as_of=end, by="grid"))
    emit("kpis_20k_by_grid_ms", secs * 1000, "ms", "<= 500")

    open_records = [replay(h[:2]) for h in histories[:10_000]]
    first: list[IncidentEvent] = []
    secs = timed(lambda: first.extend(escalations(open_records, end)))
    emit("escalation_first_tick_10k_overdue_ms", secs * 1000, "ms", "<= 1000")
    # Steady state: every open incident already escalated, the tick finds nothing new.
    by_incident: dict[str, list[IncidentEvent]] = {}
    for e in first:
        by_incident.setdefault(e.incident_id, []).append(e)
    escalated = [replay([*h[:2], *by_incident[h[0].incident_id]]) for h in histories[:2000]]
    secs = timed(lambda: escalations(escalated * 5, end))
    emit("escalation_tick_10k_open_ms", secs * 1000, "ms", "<= 100")


if __name__ == "__main__":
    main()
