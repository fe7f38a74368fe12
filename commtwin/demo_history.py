"""The demo's month before: the residents' reports and their closed loop, written at once.

The cockpit's headline figure is the 30-day closed-loop rate, and a fresh demo
has no past month. The simulator's residents and grid workers
(:mod:`simulators.residents`, :mod:`simulators.grid_workers`) make one: the
same incident events the feed would publish over those 30 days (reports,
acceptances, resolutions, closures with ratings, reopenings, cancellations,
the overdue ones of busy hours). Published over MQTT they would keep the
ingestor busy for minutes (~20,000 events) and hold back the devices' first
statuses, so they go straight through the ingestor's own incident path
(:func:`ingest.incident_writer.write_incident_events`: the MQTT parser, the
state machine, auto-dispatch, SLA, ``change_log``) in a few transactions.
Incidents whose loop was still running at the history's end are left as they
are: the simulator's workers find them through the API and finish them. The
demo writes it in the background while everything starts (a minute or so).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from commtwin import db
from commtwin.demo_readings import ReadingsError, ReadingsWritten, write_readings
from ingest.incident_writer import IncidentBook, write_incident_events
from ingest.messages import IncidentEvent
from ingest.parse import parse
from ingest.places import Places
from simulators.actions import Publish
from simulators.model_view import load_view
from simulators.scenario import FeedOptions, feed
from simulators.wire import Wire

BATCH = 2000  # events per transaction


class HistoryError(Exception):
    """The history could not be written (the message says why)."""


@dataclass(frozen=True, slots=True)
class HistoryWritten:
    days: float
    events: int
    incidents: int
    seconds: float

    def text(self) -> str:
        """The line the demo prints.

        >>> print(HistoryWritten(30.0, 21935, 5388, 114.8).text())
        incident history: 5388 residents' reports of 30.0 days before the feed \
(21935 events, written in 114.8 s)
        """
        return (
            f"incident history: {self.incidents} residents' reports of {self.days:.1f} days "
            f"before the feed ({self.events} events, written in {self.seconds:.1f} s)"
        )


def write_pending(
    url: str,
    model: Path,
    topic_root: str,
    windows: tuple[tuple[float, float], ...],
    *,
    seed: int,
    per_day: float,
    written: Callable[[tuple[float, float], HistoryWritten, ReadingsWritten], None],
) -> None:
    """Write each ``[since, until)`` window in turn (the scene devices' readings:
    :mod:`commtwin.demo_readings`, then the incidents), calling ``written`` after each.
    The readings go first: they take seconds, the incidents' loop a minute or two."""
    for window in windows:
        try:
            readings = write_readings(url, model, topic_root, *window, seed=seed)
        except ReadingsError as exc:
            raise HistoryError(str(exc)) from None
        history = write_history(url, model, topic_root, *window, seed=seed, per_day=per_day)
        written(window, history, readings)


def history_events(
    model: Path, topic_root: str, start: float, end: float, *, seed: int, per_day: float
) -> Iterator[IncidentEvent]:
    """The residents' incident events of ``[start, end)``, parsed as the ingestor would."""
    view = load_view(model)
    options = FeedOptions(
        seed=seed, incidents_per_day=per_day, kinds=frozenset(), outages=False, offline=False
    )
    now_us = int(time.time() * 1e6)
    for action in feed(view, Wire(topic_root, view.id), start, end, options):
        if isinstance(action, Publish) and action.category == "incident":
            parsed = parse(action.topic, action.payload, now_us, topic_root)
            if not isinstance(parsed, IncidentEvent):
                raise HistoryError(f"the simulator made an event the ingestor refuses: {parsed}")
            yield parsed


def write_history(
    url: str,
    model: Path,
    topic_root: str,
    start: float,
    end: float,
    *,
    seed: int,
    per_day: float,
) -> HistoryWritten:
    """Write the history of ``[start, end)``; a repeat is a no-op (the same events).

    Each transaction holds whole incidents (every event of theirs up to ``end``),
    so whoever reads the incidents meanwhile (the simulated workers) never
    sees one half written.
    """
    t0 = time.monotonic()
    book = IncidentBook(places=Places())
    by_incident: dict[str, list[IncidentEvent]] = {}
    for event in history_events(model, topic_root, start, end, seed=seed, per_day=per_day):
        by_incident.setdefault(event.incident, []).append(event)
    events = 0
    batch: list[IncidentEvent] = []
    try:
        with db.connect(url) as conn:
            for lifecycle in by_incident.values():
                batch.extend(lifecycle)
                if len(batch) >= BATCH:
                    events += _write(conn, batch, book)
            events += _write(conn, batch, book)
    except (psycopg.Error, db.DatabaseError) as exc:
        raise HistoryError(f"writing the incident history: {exc}") from None
    days = (end - start) / 86400.0
    return HistoryWritten(days, events, len(by_incident), time.monotonic() - t0)


def _write(
    conn: psycopg.Connection[tuple[object, ...]], batch: list[IncidentEvent], book: IncidentBook
) -> int:
    if not batch:
        return 0
    with conn.transaction():
        result = write_incident_events(conn, batch, book=book)
    if result.rejections:
        first = result.rejections[0]
        raise HistoryError(f"the ingestor refused a history event: {first.detail}")
    n = len(batch)
    batch.clear()
    return n
