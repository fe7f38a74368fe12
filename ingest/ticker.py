"""The ingestor's clock: alarms that time raises, SLA escalations, model reloads.

A thread with its own database connection. Every ``alarm_every_s`` it runs
the rule engine's tick (no-data and duration rules,
:meth:`ingest.alarm_engine.AlarmStage.tick`); every ``escalate_every_s`` it
escalates overdue incidents (:meth:`ingest.incident_writer.IncidentBook.escalate`:
an ``escalated`` event per incident and missed stage, ``escalated_at``, a
``change_log`` row). In between it waits on ``LISTEN commtwin_changes`` and
marks a community's model stale when a ``change_log`` row of kind
``community`` (a model import) arrives; after (re)connecting it marks every
model stale, since notifications sent meanwhile are lost.

The clock is injected (``clock``, epoch seconds), and :meth:`Ticker.tick_alarms`
/ :meth:`Ticker.tick_escalations` take ``now`` explicitly, so tests drive them
at any time against the real database.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from ingest.alarm_engine import AlarmStage
from ingest.backoff import Backoff
from ingest.care_stage import CareStage
from ingest.incident_writer import IncidentBook
from ingest.places import Places
from twin.incidents.replay import IncidentEvent
from twin.rules.engine import AlarmEvent

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]


class Ticker:
    def __init__(
        self,
        database_url: str,
        *,
        alarms: AlarmStage | None,
        book: IncidentBook,
        places: Places,
        alarm_every_s: float = 10.0,
        escalate_every_s: float = 30.0,
        clock: Callable[[], float] = time.time,
        backoff: Backoff | None = None,
        care: CareStage | None = None,
        care_baseline_every_s: float = 300.0,
    ) -> None:
        self.database_url = database_url
        self.alarms = alarms
        self.book = book
        self.places = places
        self.alarm_every_s = alarm_every_s
        self.escalate_every_s = escalate_every_s
        self._clock = clock
        self._backoff = backoff or Backoff(1.0, 30.0)
        self._conn: Conn | None = None
        self.care = care
        self.care_baseline_every_s = care_baseline_every_s

    def tick_alarms(self, conn: Conn, now: float) -> list[AlarmEvent]:
        """Raise the no-data and duration alarms due at ``now`` (epoch s)."""
        if self.alarms is None:
            return []
        events = self.alarms.tick(conn, now)
        if events:
            log.info("alarm tick: %d events", len(events))
        return events

    def tick_escalations(self, conn: Conn, now: datetime) -> list[IncidentEvent]:
        """Escalate the incidents overdue at ``now``, in one transaction."""
        with conn.transaction():
            escalated = self.book.escalate(conn, now)
        if escalated:
            log.info("escalated %d incident stages", len(escalated))
        return escalated

    def on_notify(self, payload: str) -> None:
        """A ``commtwin_changes`` notification: reload a re-imported community's model."""
        if '"community"' not in payload:
            return
        try:
            note = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        # One notification per commit lists the kinds of its rows ("kind": older servers).
        if isinstance(note, dict) and (
            note.get("kind") == "community" or "community" in (note.get("kinds") or ())
        ):
            log.info("community %s changed: its model reloads at next use", note.get("community"))
            self.places.mark_stale(str(note.get("community")))
            if self.alarms is not None:
                self.alarms.devices_changed()

    def run(self, stop: threading.Event) -> None:
        """The thread's loop, until ``stop`` is set."""
        next_alarm = next_escalation = next_baseline = 0.0
        attempt = 0
        while not stop.is_set():
            try:
                conn = self._connection()
                now = self._clock()
                if now >= next_alarm:
                    next_alarm = now + self.alarm_every_s
                    self.tick_alarms(conn, now)
                    if self.care is not None:
                        self.care.tick(conn, now)
                if self.care is not None and now >= next_baseline:
                    next_baseline = now + self.care_baseline_every_s
                    self.care.baseline(conn, now)
                if now >= next_escalation:
                    next_escalation = now + self.escalate_every_s
                    self.tick_escalations(conn, datetime.fromtimestamp(now, UTC))
                # One aged model per turn (~2/s): a district's 200 in under 2 min.
                self.places.refresh_due(conn)
                wait = min(next_alarm, next_escalation) - self._clock()
                # The wait is spent listening; short slices keep `stop` responsive.
                for note in conn.notifies(timeout=max(0.01, min(wait, 0.5))):
                    self.on_notify(note.payload)
                attempt = 0
            except (psycopg.Error, OSError) as exc:
                self._close()
                delay = self._backoff.delay(attempt, random.random())
                attempt += 1
                log.warning("ticker: %s: %s; retry in %.1fs", type(exc).__name__, exc, delay)
                stop.wait(delay)
        self._close()

    def _connection(self) -> Conn:
        if self._conn is None or self._conn.closed or self._conn.broken:
            conn = psycopg.connect(
                self.database_url,
                autocommit=True,
                connect_timeout=5,
                application_name="commtwin-ingest-ticker",
            )
            # Belt and braces: a tick never waits long on a row lock (batches take
            # the engine lock before any row lock, so they cannot wait on it).
            conn.execute("SET lock_timeout = '5s'")
            conn.execute("LISTEN commtwin_changes")
            self.places.mark_stale()
            self._conn = conn
        return self._conn

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
