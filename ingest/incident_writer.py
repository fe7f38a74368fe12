"""Persist incident events through the closed loop's state machine: the ONE place
ingest writes incidents.

Every event, from MQTT, from an alarm (:mod:`ingest.alarm_writer`) or from the
SLA clock (:mod:`ingest.ticker`), goes through :meth:`IncidentBook.apply`
inside the caller's transaction:

1. lock the batch's incidents, in one order: an advisory lock per incident
   (``hashtextextended('incident/<community>/<incident>', 0)``, which also
   covers incidents that do not exist yet) and the ``incidents`` rows
   ``FOR UPDATE`` (for writers that lock rows only);
2. load their stored events once, in arrival order (``seq``);
3. per event, in arrival order, :func:`twin.incidents.replay.check_event`:
   ``Duplicate`` → nothing (a redelivery, acknowledged); ``Applied`` → store the
   event, a ``change_log`` row (kind ``incident``), and on a ``reported``
   without assignee the auto-dispatch to the grid's worker, itself an event
   (source ``auto``) checked the same way; ``Rejected`` → store the event
   too (inert: a missing earlier event may still make it valid, replay
   re-evaluates it) and report it, so the pipeline dead-letters the message
   with reason ``invalid_transition`` and the refusal naming both states;
4. upsert each changed incident's row from the replayed record.

:func:`write_incident_events` is the pipeline's entry for MQTT messages: it
converts them into ``twin.incidents.replay`` events, locating their place
(:func:`ingest.community_places.event_location`), and reports the refusals.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

import orjson
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from ingest.community_places import event_location
from ingest.messages import IncidentEvent, LocalPosition, Reason, UnitLocation
from ingest.places import Places
from twin.incidents.dispatch import (
    DEFAULT_ALARM_POLICY,
    AlarmIncidentPolicy,
    RaisedAlarm,
    alarm_incident_event,
    auto_dispatch,
)
from twin.incidents.escalation import escalations
from twin.incidents.replay import (
    DEFAULT_SLA,
    Applied,
    Duplicate,
    EventType,
    IncidentRecord,
    InvalidEventError,
    Outcome,
    Rejected,
    SlaPolicy,
    check_event,
)
from twin.incidents.replay import IncidentEvent as TwinEvent
from twin.incidents.rows import (
    INCIDENT_COLUMNS,
    event_from_row,
    event_to_row,
    record_from_row,
    record_to_row,
)

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]
Key = tuple[str, str]  # (community, incident)


@dataclass(frozen=True, slots=True)
class IncidentRejection:
    """Event ``index`` (into the sequence given) was refused; it becomes a dead letter."""

    index: int
    reason: str  # a dead-letter reason code: invalid_transition, schema
    detail: str


@dataclass(frozen=True, slots=True)
class IncidentWriteResult:
    applied: int  # events that changed an incident (auto-dispatches included)
    duplicates: int  # redelivered events, ignored
    rejections: tuple[IncidentRejection, ...] = ()


@dataclass(frozen=True)
class IncidentPolicy:
    """What ingest's closed loop is configured with (``--incident-policy``)."""

    sla: SlaPolicy = DEFAULT_SLA
    alarms: AlarmIncidentPolicy = field(default=DEFAULT_ALARM_POLICY)


_LOCK: Final = """
SELECT pg_advisory_xact_lock(hashtextextended(k, 0))
FROM (SELECT unnest(%s::text[]) AS k ORDER BY 1) AS keys
"""
_LOCK_ROWS: Final = """
SELECT 1 FROM incidents
WHERE (community_id, id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
ORDER BY community_id, id FOR UPDATE
"""
_EVENT_COLUMNS: Final = (
    "community_id",
    "incident_id",
    "event_id",
    "type",
    "ts",
    "source",
    "actor",
    "assignee",
    "note",
    "data",
)
_LOAD: Final = sql.SQL(
    "SELECT {} FROM incident_events "
    "WHERE (community_id, incident_id) IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
    "ORDER BY seq"
).format(sql.SQL(", ").join(map(sql.Identifier, _EVENT_COLUMNS)))
_INSERT_EVENT: Final = sql.SQL(
    "INSERT INTO incident_events ({}) VALUES ({}) ON CONFLICT DO NOTHING"
).format(
    sql.SQL(", ").join(map(sql.Identifier, _EVENT_COLUMNS)),
    sql.SQL(", ").join(sql.Placeholder(c) for c in _EVENT_COLUMNS),
)
_ROW_COLUMNS: Final = (*INCIDENT_COLUMNS, "reopened_at", "escalations")
_UPSERT: Final = sql.SQL(
    "INSERT INTO incidents ({}, updated_at) VALUES ({}, now()) "
    "ON CONFLICT (community_id, id) DO UPDATE SET {}, updated_at = now()"
).format(
    sql.SQL(", ").join(map(sql.Identifier, _ROW_COLUMNS)),
    sql.SQL(", ").join(sql.Placeholder(c) for c in _ROW_COLUMNS),
    sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in _ROW_COLUMNS[2:]
    ),
)
_SELECT_ROWS: Final = sql.SQL(
    "SELECT {}, escalations, updated_at FROM incidents "
    "WHERE (community_id, id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))"
).format(sql.SQL(", ").join(map(sql.Identifier, INCIDENT_COLUMNS)))
# Unresolved incidents past a deadline they have not been escalated on yet
# (respond_due_at <= resolve_due_at, so the partial index on it finds them).
_OVERDUE: Final = """
SELECT community_id, id FROM incidents
WHERE status IN ('reported', 'dispatched', 'accepted') AND respond_due_at < %(now)s
  AND ((accepted_at IS NULL AND NOT 'respond' = ANY(escalations))
       OR (resolve_due_at < %(now)s AND NOT 'resolve' = ANY(escalations)))
  AND (%(scope)s::text[] IS NULL OR community_id = ANY(%(scope)s))
ORDER BY respond_due_at LIMIT %(limit)s
"""
_WORKERS: Final = "SELECT id, worker FROM grids WHERE community_id = %s AND worker IS NOT NULL"
_LOG: Final = """
INSERT INTO change_log (community_id, kind, ref, data) VALUES (%s, 'incident', %s, %s::jsonb)
"""


class IncidentBook:
    """Applies incident events to the stored incidents, inside the caller's transaction."""

    def __init__(
        self,
        policy: IncidentPolicy | None = None,
        places: Places | None = None,
        scope: list[str] | None = None,
    ) -> None:
        self.policy = policy or IncidentPolicy()
        self.places = places
        # The communities this ingestor serves: it escalates their incidents only.
        self._scope = scope

    def apply(self, conn: Conn, events: Sequence[TwinEvent]) -> list[Outcome]:
        """Check and store ``events`` (arrival order); one outcome per event."""
        if not events:
            return []
        keys = sorted({(e.community_id, e.incident_id) for e in events})
        lock(conn, keys)
        stored = self._load(conn, keys)
        changed: dict[Key, IncidentRecord] = {}
        outcomes: list[Outcome] = []
        for event in events:
            key = (event.community_id, event.incident_id)
            outcome = self._check(conn, stored[key], event, changed)
            outcomes.append(outcome)
            if isinstance(outcome, Applied) and event.type == EventType.REPORTED:
                follow = auto_dispatch(outcome.record, self._workers(conn, event.community_id))
                if follow is not None:
                    self._check(conn, stored[key], follow, changed)
        for record in changed.values():
            row = record_to_row(record)
            row["reopened_at"] = record.reopened_at
            row["escalations"] = sorted(record.escalations)
            conn.execute(_UPSERT, row)
        return outcomes

    def _check(
        self,
        conn: Conn,
        history: list[TwinEvent],
        event: TwinEvent,
        changed: dict[Key, IncidentRecord],
    ) -> Outcome:
        outcome = check_event_logged(history, event, self.policy.sla)
        if isinstance(outcome, Duplicate):
            return outcome
        row = event_to_row(event)
        row["data"] = Jsonb(row["data"], dumps=_dumps)
        conn.execute(_INSERT_EVENT, row)
        history.append(event)
        if isinstance(outcome, Applied):
            record = outcome.record
            changed[(record.community_id, record.id)] = record
            change = {
                "event": event.type.value,
                "event_id": event.event_id,
                "source": event.source,
                "status": record.status.value,
            }
            conn.execute(_LOG, (record.community_id, record.id, _dumps(change)))
        return outcome

    def _load(self, conn: Conn, keys: Sequence[Key]) -> dict[Key, list[TwinEvent]]:
        stored: dict[Key, list[TwinEvent]] = {k: [] for k in keys}
        cols = ([k[0] for k in keys], [k[1] for k in keys])
        for values in conn.execute(_LOAD, cols).fetchall():
            row = dict(zip(_EVENT_COLUMNS, values, strict=True))
            try:
                event = event_from_row(row)
            except InvalidEventError as exc:
                # Written by hand or by a broken writer: keep going without it.
                log.warning("incident %s: stored event skipped: %s", row["incident_id"], exc)
                continue
            stored[(event.community_id, event.incident_id)].append(event)
        return stored

    def _workers(self, conn: Conn, community: str) -> Mapping[str, str | None]:
        if self.places is not None:
            places = self.places.get(conn, community)
            return places.workers if places is not None else {}
        return {str(g): str(w) for g, w in conn.execute(_WORKERS, (community,)).fetchall()}

    def open_for_alarm(self, conn: Conn, alarm: RaisedAlarm) -> str | None:
        """Open (or find) the incident of a critical alarm; its id, or None if the
        policy opens none for this alarm."""
        event = alarm_incident_event(alarm, self.policy.alarms)
        if event is None:
            return None
        [outcome] = self.apply(conn, [event])
        return None if isinstance(outcome, Rejected) else event.incident_id

    def escalate(self, conn: Conn, now: datetime, limit: int = 1000) -> list[TwinEvent]:
        """Escalate the incidents overdue at ``now`` (one event per incident and
        stage, dated at the missed deadline); returns the events applied."""
        found = conn.execute(
            _OVERDUE, {"now": now, "limit": limit, "scope": self._scope}
        ).fetchall()
        if not found:
            return []
        keys = sorted((str(c), str(i)) for c, i in found)
        lock(conn, keys)  # read the rows after locking: an acceptance may just have landed
        cols = ([k[0] for k in keys], [k[1] for k in keys])
        records = []
        for values in conn.execute(_SELECT_ROWS, cols).fetchall():
            row = dict(zip((*INCIDENT_COLUMNS, "escalations", "updated_at"), values, strict=True))
            record = record_from_row(row)
            records.append(replace(record, escalations=frozenset(row["escalations"])))
        due = escalations(records, now)
        outcomes = self.apply(conn, due)
        return [e for e, o in zip(due, outcomes, strict=True) if isinstance(o, Applied)]


def lock(conn: Conn, keys: Sequence[Key]) -> None:
    """Serialise writers of these incidents until the transaction ends."""
    conn.execute(_LOCK, ([f"incident/{c}/{i}" for c, i in keys],))
    conn.execute(_LOCK_ROWS, ([k[0] for k in keys], [k[1] for k in keys]))


def check_event_logged(history: list[TwinEvent], event: TwinEvent, sla: SlaPolicy) -> Outcome:
    """:func:`twin.incidents.replay.check_event`, logging reused ids and refusals."""
    outcome = check_event(history, event, sla)
    # A redelivered event without ts carries a new receive time: not a reuse.
    if isinstance(outcome, Duplicate) and outcome.existing != replace(
        event, ts=outcome.existing.ts
    ):
        log.warning(
            "incident %s: event id %s reused with other content; the stored event stands",
            event.incident_id,
            event.event_id,
        )
    elif isinstance(outcome, Rejected):
        log.info(
            "incident %s: event %s refused: %s", event.incident_id, event.event_id, outcome.reason
        )
    return outcome


def _same_time(event: TwinEvent, like: TwinEvent) -> TwinEvent:
    return replace(event, ts=like.ts)


def write_incident_events(
    conn: Conn,
    events: Sequence[IncidentEvent],
    *,
    source: str = "mqtt",
    book: IncidentBook | None = None,
) -> IncidentWriteResult:
    """Apply MQTT incident events (arrival order) inside the caller's open transaction.

    Positional locations must already be community-local
    (:class:`~ingest.messages.LocalPosition`); the pipeline converts WGS 84.
    """
    book = book or IncidentBook()
    rejections: list[IncidentRejection] = []
    converted: list[tuple[int, TwinEvent]] = []
    for index, event in enumerate(events):
        try:
            converted.append((index, _to_twin(conn, event, source, book.places)))
        except InvalidEventError as exc:
            rejections.append(IncidentRejection(index, Reason.SCHEMA, str(exc)))
    outcomes = book.apply(conn, [e for _, e in converted])
    applied = duplicates = 0
    for (index, _), outcome in zip(converted, outcomes, strict=True):
        if isinstance(outcome, Duplicate):
            duplicates += 1
        elif isinstance(outcome, Rejected):
            rejections.append(IncidentRejection(index, Reason.INVALID_TRANSITION, outcome.reason))
        else:
            applied += 1
    rejections.sort(key=lambda r: r.index)
    return IncidentWriteResult(applied, duplicates, tuple(rejections))


def _to_twin(conn: Conn, e: IncidentEvent, source: str, places: Places | None) -> TwinEvent:
    loc = e.location
    if loc is not None and not isinstance(loc, UnitLocation | LocalPosition):
        raise InvalidEventError("location: a WGS 84 position must be converted first")
    community = places.get(conn, e.community) if places is not None and loc is not None else None
    return TwinEvent(
        community_id=e.community,
        incident_id=e.incident,
        event_id=e.event_id,
        type=EventType(e.type),
        ts=e.ts,
        source=source,
        category=e.category,
        priority=e.priority,
        title=e.title,
        description=e.description,
        reporter=e.reporter,
        assignee=e.assignee,
        note=e.note,
        location=event_location(loc, community),
        satisfaction=e.satisfaction,
        stage=e.stage,
        actor=e.actor,
    )


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()
