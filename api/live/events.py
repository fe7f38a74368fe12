"""What ``/stream`` sends: one event per change-log row, plus version and reset events.

Events come in groups of whole commits, each group closed by the ``version``
event of the ``/live`` document that holds exactly them.

Each change event carries the change (``kind``, ``ref``, ``data`` as the
change log holds them) and the changed object's **current** state in the
shape of its ``/live`` entry: a client that applies events in order (upsert
an active alarm / open incident, remove the others) holds the same lists as
``/live``. Events are serialised once and shared by every subscriber.

>>> from datetime import datetime, timezone
>>> t = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
>>> e = change_event("c", 12, kind="device", ref="d1", at=t, data={"online": False, "was": True},
...                  row={"id": "d1", "kind": "smoke", "building_id": "b1", "storey_idx": 1,
...                       "unit_id": None, "grid_id": None, "online": False}, now=t)
>>> e.event, e.id, e.data
('device', 12, '{"seq":12,"at":"2026-11-28T10:00:00Z","community":"c","kind":"device","ref":"d1",\
"change":{"online":false,"was":true},"device":{"id":"d1","kind":"smoke","building":"b1",\
"storey":1,"unit":null,"grid":null,"online":false}}')
>>> version_event(12, '"12"').data
'{"version":12,"etag":"\\\\"12\\\\""}'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson

from api.live.rows import alarm_state, incident_state
from twin.live.rows import AlarmState, IncidentState, iso
from twin.live.state import alarm_entry, incident_entry

# Event names; `kind` values of the change log are event names too.
VERSION: Final = "version"
RESET: Final = "reset"
CLOSING: Final = "closing"
_OBJECT_KEY: Final = {"device": "device", "alarm": "alarm", "incident": "incident"}


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One server-sent event: ``event:`` name, ``id:`` (a change sequence) and JSON data."""

    event: str
    id: int | None
    data: str


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def device_item(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "kind": r["kind"],
        "building": r["building_id"],
        "storey": r["storey_idx"],
        "unit": r["unit_id"],
        "grid": r["grid_id"],
        "online": r["online"],
    }


def alarm_item(a: AlarmState) -> dict[str, Any]:
    """An alarm as ``/live`` lists it (a cleared one too, with its state)."""
    return alarm_entry(a)


def incident_item(i: IncidentState, now: datetime) -> dict[str, Any]:
    """An incident as ``/live`` lists it (a closed one too, with its status)."""
    return incident_entry(i, i.overdue(now))


def object_item(kind: str, row: Mapping[str, Any] | None, now: datetime) -> dict[str, Any] | None:
    if row is None:
        return None
    if kind == "device":
        return device_item(row)
    if kind == "alarm":
        return alarm_item(alarm_state(row))
    if kind == "incident":
        return incident_item(incident_state(row), now)
    return None


def change_event(
    community: str,
    seq: int,
    *,
    kind: str,
    ref: str,
    at: datetime | None,
    data: Mapping[str, Any] | None,
    row: Mapping[str, Any] | None,
    now: datetime,
    commit: str | None = None,
) -> StreamEvent:
    """The event of one change-log row; ``row`` is the object's current row (None: gone).

    ``commit`` names the transaction that wrote the row: the events before a
    ``version`` event hold every row of each commit they name.
    """
    body: dict[str, Any] = {
        "seq": seq,
        "at": iso(at),
        "community": community,
        "kind": kind,
        "ref": ref,
        "change": dict(data or {}),
    }
    if commit is not None:
        body["commit"] = commit
    key = _OBJECT_KEY.get(kind)
    if key is not None:
        body[key] = object_item(kind, row, now)
    return StreamEvent(kind, seq, _json(body))


def version_event(version: int, etag: str) -> StreamEvent:
    """The snapshot version after the events before it (``/live`` answers this ETag)."""
    return StreamEvent(VERSION, version, _json({"version": version, "etag": etag}))


def reset_event(reason: str, version: int) -> StreamEvent:
    """Changes were missed (too old to replay, a slow client, a lost database link):
    the client must refetch ``/live``."""
    return StreamEvent(RESET, version, _json({"reason": reason, "version": version}))


def closing_event(reason: str) -> StreamEvent:
    """The server ends the stream (e.g. the key was revoked); no reconnect is expected."""
    return StreamEvent(CLOSING, None, _json({"reason": reason}))
