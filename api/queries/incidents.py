"""Incidents: listing, one incident with its timeline, stored events, KPI records.

Overdue follows ``twin.incidents.record``: open, and past ``respond_due_at``
never accepted, or past ``resolve_due_at`` and not resolved.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from psycopg import sql

from api.db import Conn, fetch_all, fetch_one
from api.errors import BadRequestError
from api.live.rows import incident_state
from api.models.incidents import IncidentDetail, IncidentEventPublic, IncidentPublic
from twin.incidents.record import IncidentRecord
from twin.incidents.replay import IncidentError, IncidentEvent, trace
from twin.incidents.rows import INCIDENT_COLUMNS, event_from_row, record_from_row

_COLUMNS: Final = sql.SQL("""
    id, status, category, priority, title, description, reporter, assignee, grid_id,
    building_id, storey_idx, unit_id, x, y, z, alarm_id, reported_at, dispatched_at,
    accepted_at, resolved_at, closed_at, cancelled_at, respond_due_at, resolve_due_at,
    escalated_at, reopen_count, satisfaction, updated_at""")
_OVERDUE: Final = sql.SQL("""COALESCE(
    status IN ('reported', 'dispatched', 'accepted', 'resolved')
    AND ((accepted_at IS NULL AND respond_due_at < %(now)s)
         OR (status <> 'resolved' AND resolve_due_at < %(now)s)), false)""")
_LIST: Final = sql.SQL("""
SELECT {columns}, count(*) OVER () AS total FROM incidents
WHERE community_id = %(c)s
  AND (%(status)s::text IS NULL OR status = %(status)s
       OR (%(status)s = 'open' AND status NOT IN ('closed', 'cancelled')))
  AND (%(category)s::text IS NULL OR category = %(category)s)
  AND (%(grid)s::text IS NULL OR grid_id = %(grid)s)
  AND (%(overdue)s::boolean IS NULL OR {overdue} = %(overdue)s)
  AND (%(start)s::timestamptz IS NULL OR reported_at >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR reported_at < %(end)s)
ORDER BY reported_at DESC, id LIMIT %(limit)s OFFSET %(offset)s""").format(
    columns=_COLUMNS, overdue=_OVERDUE
)
_ONE: Final = sql.SQL("SELECT {columns} FROM incidents WHERE community_id = %(c)s AND id = %(i)s")
_EVENTS: Final = "SELECT * FROM incident_events WHERE community_id = %(c)s AND incident_id = %(i)s"
_CLOSED_ROWS: Final = sql.SQL("""
SELECT {columns}, updated_at FROM incidents
WHERE community_id = %(c)s AND status = 'closed' AND closed_at >= %(start)s
  AND satisfaction IS NOT NULL
LIMIT %(limit)s""").format(columns=sql.SQL(", ").join(map(sql.Identifier, INCIDENT_COLUMNS)))
_KPI_ROWS: Final = sql.SQL("""
SELECT {columns}, updated_at FROM incidents
WHERE community_id = %(c)s AND reported_at >= %(start)s AND reported_at < %(end)s
LIMIT %(limit)s""").format(columns=sql.SQL(", ").join(map(sql.Identifier, INCIDENT_COLUMNS)))


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    status: str | None = None  # a status, or "open"
    category: str | None = None
    grid: str | None = None
    overdue: bool | None = None
    start: datetime | None = None
    end: datetime | None = None


def public(r: Mapping[str, Any], now: datetime) -> IncidentPublic:
    return IncidentPublic(
        id=r["id"],
        status=r["status"],
        category=r["category"],
        priority=r["priority"],
        title=r["title"],
        description=r["description"],
        reporter=r["reporter"],
        assignee=r["assignee"],
        grid=r["grid_id"],
        building=r["building_id"],
        storey=r["storey_idx"],
        unit=r["unit_id"],
        x=r["x"],
        y=r["y"],
        z=r["z"],
        alarm_id=r["alarm_id"],
        reported_at=r["reported_at"],
        dispatched_at=r["dispatched_at"],
        accepted_at=r["accepted_at"],
        resolved_at=r["resolved_at"],
        closed_at=r["closed_at"],
        cancelled_at=r["cancelled_at"],
        respond_due_at=r["respond_due_at"],
        resolve_due_at=r["resolve_due_at"],
        escalated_at=r["escalated_at"],
        reopen_count=r["reopen_count"],
        satisfaction=r["satisfaction"],
        overdue=incident_state(r).overdue(now),
        escalated=r["escalated_at"] is not None,
        updated_at=r["updated_at"],
    )


async def list_incidents(
    conn: Conn, community: str, f: IncidentFilter, now: datetime, *, limit: int, offset: int
) -> tuple[int, list[IncidentPublic]]:
    """Newest reported first."""
    if f.start is not None and f.end is not None and f.end <= f.start:
        raise BadRequestError("to", "must be after from")
    params = {
        "c": community,
        "status": f.status,
        "category": f.category,
        "grid": f.grid,
        "overdue": f.overdue,
        "start": f.start,
        "end": f.end,
        "now": now,
        "limit": limit,
        "offset": offset,
    }
    rows = await fetch_all(conn, _LIST, params)
    total = int(rows[0]["total"]) if rows else 0
    return total, [public(r, now) for r in rows]


async def stored_events(conn: Conn, community: str, incident: str) -> list[dict[str, Any]]:
    """An incident's ``incident_events`` rows in arrival order (``seq`` when the
    table has it, else receive time), as ``twin.incidents.replay`` wants them."""
    rows = await fetch_all(conn, _EVENTS, {"c": community, "i": incident})
    rows.sort(key=lambda r: (r.get("seq") or 0, r["received_at"], r["ts"], r["event_id"]))
    return rows


def readable_events(rows: list[dict[str, Any]]) -> list[IncidentEvent]:
    """The stored rows that are valid events (hand-written rows may not be)."""
    out = []
    for r in rows:
        try:
            out.append(event_from_row(r))
        except IncidentError:
            continue
    return out


def timeline(rows: list[dict[str, Any]]) -> list[IncidentEventPublic]:
    """Every stored event by event time, marked applied or skipped (with the reason)."""
    steps = {s.event.event_id: s for s in trace(readable_events(rows)).steps}
    items = []
    for r in sorted(rows, key=lambda r: (r["ts"], r.get("seq") or 0, r["received_at"])):
        step = steps.get(r["event_id"])
        problem = None if step is not None else "not a valid incident event"
        items.append(
            IncidentEventPublic(
                event_id=r["event_id"],
                type=r["type"],
                ts=r["ts"],
                received_at=r["received_at"],
                source=r["source"],
                actor=r["actor"],
                assignee=r["assignee"],
                note=r["note"],
                data=dict(r["data"] or {}),
                applied=step.applied if step is not None else None,
                reason=step.reason if step is not None else problem,
            )
        )
    return items


async def get_incident(
    conn: Conn, community: str, incident: str, now: datetime
) -> IncidentDetail | None:
    row = await fetch_one(conn, _ONE.format(columns=_COLUMNS), {"c": community, "i": incident})
    if row is None:
        return None
    events = timeline(await stored_events(conn, community, incident))
    return IncidentDetail(**public(row, now).model_dump(), events=events)


async def kpi_records(
    conn: Conn, community: str, start: datetime, end: datetime, limit: int
) -> list[IncidentRecord]:
    """Incidents reported in ``[start, end)`` as records; at most ``limit`` (400 beyond)."""
    params = {"c": community, "start": start, "end": end, "limit": limit + 1}
    rows = await fetch_all(conn, _KPI_ROWS, params)
    if len(rows) > limit:
        raise BadRequestError(
            "from", f"the period holds more than {limit} incidents; ask for a shorter one"
        )
    return [record_from_row(r) for r in rows]


async def rated_records(
    conn: Conn, community: str, start: datetime, limit: int
) -> list[IncidentRecord]:
    """Closed incidents with a rating, closed at or after ``start``; at most ``limit``."""
    rows = await fetch_all(conn, _CLOSED_ROWS, {"c": community, "start": start, "limit": limit})
    return [record_from_row(r) for r in rows]


EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2500, 1, 1, tzinfo=UTC)


def utc_param(t: datetime | None, param: str) -> datetime | None:
    """A time parameter as UTC (naive means UTC), within 1970–2500 (400 naming it).

    >>> utc_param(datetime(2026, 1, 1), "from").isoformat()
    '2026-01-01T00:00:00+00:00'
    >>> utc_param(datetime(1900, 1, 1, tzinfo=UTC), "to")
    Traceback (most recent call last):
    ...
    api.errors.BadRequestError: to: must be between 1970 and 2500
    """
    if t is None:
        return None
    try:
        aware = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    except OverflowError:
        aware = EARLIEST - timedelta(days=1)  # out of range either way
    if not EARLIEST <= aware < LATEST:
        raise BadRequestError(param, f"must be between {EARLIEST.year} and {LATEST.year}")
    return aware
