"""Reporting and moving incidents over HTTP, through the same path and rules as MQTT.

1. The event is built as ``twin.incidents.replay`` sees it and checked against the
   incident's stored events with :func:`twin.incidents.replay.check_event`: an
   invalid transition is a 409 whose reason names both states, and nothing
   is published (the caller is told and can retry).
2. The wire message is checked against ``schemas/mqtt/incident_event.json``
   and published to ``{root}/{cid}/incidents/{iid}/events`` with QoS 1,
   exactly as an app would.
3. The request waits, bounded, for the ingestor's commit: the event stored
   (201 with the incident as committed, auto-dispatch included) or the
   message dead-lettered (409/400 with the ingestor's reason). Nothing in
   time: 202, the broker holds the message and the ingestor applies it later.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Final, Literal

import jsonschema
import orjson
from psycopg_pool import AsyncConnectionPool

from api.db import Conn, fetch_one
from api.errors import BadRequestError, ConflictError, NotFoundError
from api.live.hub import LiveHub
from api.models.incidents import (
    GeoPoint,
    IncidentDetail,
    IncidentEventIn,
    IncidentPending,
    IncidentReport,
    LocalPoint,
    UnitPlace,
)
from api.mqtt_publish import BrokerConfig, BrokerUnavailableError, publish
from api.queries.incidents import get_incident, readable_events, stored_events
from schemas.mqtt_contract import load_schema
from twin.incidents.replay import (
    Applied,
    Duplicate,
    EventType,
    IncidentEvent,
    InvalidEventError,
    Location,
    check_event,
)

EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC)
# The ingestor refuses times more than this far ahead of its clock (ts_future).
MAX_SKEW: Final = timedelta(minutes=5)
# Poll between notifications: a dead-lettered message commits no change_log row.
POLL_S: Final = 0.25
_OUTCOME: Final = """
SELECT EXISTS (SELECT 1 FROM incident_events
               WHERE community_id = %(c)s AND incident_id = %(i)s AND event_id = %(e)s)
           AS stored,
       (SELECT reason || ': ' || detail FROM dead_letters
         WHERE topic = %(t)s AND payload_sha256 = %(h)s AND last_received_at >= %(since)s
         ORDER BY last_received_at DESC LIMIT 1) AS refused
"""


@dataclass(frozen=True, slots=True)
class Command:
    """One event to submit: as the state machine sees it, and as the wire carries it."""

    event: IncidentEvent
    payload: dict[str, Any]
    ts_given: bool = True  # False: the request left ts out (now was used)

    @property
    def community(self) -> str:
        return self.event.community_id

    @property
    def incident(self) -> str:
        return self.event.incident_id


@dataclass(frozen=True, slots=True)
class Outcome:
    """``committed`` (201), ``duplicate`` (200: the same event was already stored)
    or ``pending`` (202)."""

    kind: Literal["committed", "duplicate", "pending"]
    incident: IncidentDetail | None = None
    pending: IncidentPending | None = None


@dataclass(frozen=True, slots=True)
class CommandContext:
    pool: AsyncConnectionPool[Conn]
    hub: LiveHub
    broker: BrokerConfig | None
    topic_root: str
    timeout_s: float


def event_time(ts: datetime | None, now: datetime) -> datetime:
    """The event's time: now by default, naive means UTC, within the ingestor's limits."""
    if ts is None:
        return now
    aware = ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
    if aware < EARLIEST:
        raise BadRequestError("ts", "must not be before 2000-01-01")
    if aware > now + MAX_SKEW:
        raise BadRequestError("ts", "must not be more than 5 minutes in the future")
    return aware


def wire_location(loc: UnitPlace | LocalPoint | GeoPoint | None) -> dict[str, Any] | None:
    return None if loc is None else loc.model_dump(exclude_none=True)


def twin_location(loc: UnitPlace | LocalPoint | GeoPoint | None) -> Location | None:
    """The location as the state machine sees it (WGS 84 is converted by the ingestor;
    the check does not depend on it)."""
    if isinstance(loc, UnitPlace):
        return Location(building=loc.building, storey=loc.storey, unit=loc.unit)
    if isinstance(loc, LocalPoint):
        return Location(x=loc.x, y=loc.y, z=loc.z)
    return None


def build_command(
    community: str,
    incident: str,
    *,
    event_id: str,
    event_type: str,
    ts: datetime,
    ts_given: bool,
    fields: dict[str, Any],
    location: UnitPlace | LocalPoint | GeoPoint | None,
) -> Command:
    """The event and its wire message; a malformed event is a 400 naming the field.

    ``fields`` may carry ``actor`` (who takes the step; the /v1/me routes set it).
    """
    given = {k: v for k, v in fields.items() if v is not None}
    try:
        event = IncidentEvent(
            community,
            incident,
            event_id,
            EventType(event_type),
            ts,
            source="api",
            location=twin_location(location),
            **given,
        )
    except InvalidEventError as exc:
        raise BadRequestError("body", str(exc)) from None
    payload: dict[str, Any] = {
        "event_id": event_id,
        "type": event_type,
        "ts": ts.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        **given,
    }
    where = wire_location(location)
    if where is not None:
        payload["location"] = where
    check_wire(payload)
    return Command(event, payload, ts_given)


def report_command(community: str, body: IncidentReport, now: datetime) -> Command:
    """A ``reported`` event; the incident id and event id are generated when not given."""
    fields = body.model_dump(
        include={"category", "priority", "title", "description", "reporter", "assignee", "note"}
    )
    return build_command(
        community,
        body.id or f"r-{secrets.token_hex(6)}",
        event_id=body.event_id or f"api-{secrets.token_hex(8)}",
        event_type="reported",
        ts=event_time(body.ts, now),
        ts_given=body.ts is not None,
        fields=fields,
        location=body.location,
    )


def transition_command(
    community: str, incident: str, body: IncidentEventIn, now: datetime
) -> Command:
    fields = body.model_dump(
        include={"assignee", "note", "category", "priority", "title", "description", "satisfaction"}
    )
    return build_command(
        community,
        incident,
        event_id=body.event_id or f"api-{secrets.token_hex(8)}",
        event_type=body.type,
        ts=event_time(body.ts, now),
        ts_given=body.ts is not None,
        fields=fields,
        location=body.location,
    )


def repeats(stored: IncidentEvent, cmd: Command) -> bool:
    """Whether the stored event with the command's event id is the same step (a retry):
    the same type, and the same value of every field the request gave (``ts`` only
    when it was given; its source and the place the ingestor located may differ).
    """
    new = cmd.event
    if stored.type != new.type or (cmd.ts_given and stored.ts != new.ts):
        return False
    for name in cmd.payload.keys() - {"event_id", "type", "ts", "location"}:
        if getattr(stored, name) != getattr(new, name):
            return False
    if new.location is None:
        return True
    if stored.location is None:
        return False
    return all(
        getattr(new.location, k) is None or getattr(new.location, k) == getattr(stored.location, k)
        for k in ("building", "storey", "unit", "x", "y", "z")
    )


@cache
def _wire_validator() -> jsonschema.protocols.Validator:
    schema = load_schema("incident_event")
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def check_wire(payload: dict[str, Any]) -> None:
    """400 when the message would break the MQTT contract (it would be dead-lettered)."""
    error = jsonschema.exceptions.best_match(_wire_validator().iter_errors(payload))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "body"
        raise BadRequestError(where, error.message)


async def submit(ctx: CommandContext, cmd: Command) -> Outcome:
    """Check, publish, and wait for the ingestor's commit (see the module docstring)."""
    async with ctx.pool.connection() as conn:
        rows = await stored_events(conn, cmd.community, cmd.incident)
        clock = await fetch_one(conn, "SELECT now() AS now")
    since = clock["now"] if clock else datetime.now(UTC)
    stored = readable_events(rows)
    if cmd.event.type != EventType.REPORTED and not rows:
        raise NotFoundError("incident", cmd.incident)
    checked = check_event(stored, cmd.event)
    if isinstance(checked, Duplicate):
        if not repeats(checked.existing, cmd):
            raise ConflictError(
                f"event_id {cmd.event.event_id!r} is already used by another event "
                f"of incident {cmd.incident!r}"
            )
        return Outcome("duplicate", incident=await _detail(ctx, cmd))
    if not isinstance(checked, Applied):
        raise ConflictError(checked.reason)
    if ctx.broker is None:
        raise BrokerUnavailableError(
            "no MQTT broker is configured for incident commands (COMMTWIN_MQTT_URL)"
        )
    payload = orjson.dumps(cmd.payload)
    topic = f"{ctx.topic_root}/{cmd.community}/incidents/{cmd.incident}/events"
    async with ctx.hub.watching(cmd.community) as committed:
        await publish(ctx.broker, topic, payload, ctx.timeout_s)
        deadline = time.monotonic() + ctx.timeout_s
        digest = hashlib.sha256(payload).digest()
        params = {
            "c": cmd.community,
            "i": cmd.incident,
            "e": cmd.event.event_id,
            "t": topic,
            "h": digest,
            "since": since,
        }
        while True:
            committed.clear()  # before looking, so a commit meanwhile is not missed
            async with ctx.pool.connection() as conn:
                found = await fetch_one(conn, _OUTCOME, params)
            if found is not None and (found["stored"] or found["refused"]):
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Outcome("pending", pending=_pending(cmd, ctx.timeout_s))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(committed.wait(), min(remaining, POLL_S))
    if not found["stored"]:
        reason = str(found["refused"])
        if reason.startswith("invalid_transition: "):
            raise ConflictError(reason.removeprefix("invalid_transition: "))
        raise BadRequestError("body", f"the ingestor refused the event: {reason}")
    detail = await _detail(ctx, cmd)
    step = next((e for e in detail.events if e.event_id == cmd.event.event_id), None)
    if step is not None and step.applied is False:
        # Another event committed between our check and the ingestor's.
        raise ConflictError(step.reason or "the event was not applied")
    return Outcome("committed", incident=detail)


async def _detail(ctx: CommandContext, cmd: Command) -> IncidentDetail:
    async with ctx.pool.connection() as conn:
        detail = await get_incident(conn, cmd.community, cmd.incident, ctx.hub.now())
    if detail is None:
        raise NotFoundError("incident", cmd.incident)
    return detail


def _pending(cmd: Command, timeout_s: float) -> IncidentPending:
    return IncidentPending(
        incident=cmd.incident,
        event_id=cmd.event.event_id,
        detail=f"published to the broker; the ingestor has not committed it within "
        f"{timeout_s:g} s (GET the incident later)",
    )
