"""The MQTT wire contract as the simulators speak it: topics and payloads.

Topics live under a root ``R`` (``commtwin/v1`` by default)::

    R/{community}/devices/{device}/telemetry
    R/{community}/devices/{device}/status
    R/{community}/incidents/{incident}/events

Payloads are UTF-8 JSON. Timestamps are RFC 3339 text with milliseconds in
UTC (the realistic feed) or epoch milliseconds (the load generator: cheaper).

>>> w = Wire("commtwin/v1", "lanting")
>>> w.telemetry("smoke-b01-0101")
'commtwin/v1/lanting/devices/smoke-b01-0101/telemetry'
>>> rfc3339(1764324000.5)
'2025-11-28T10:00:00.500Z'
>>> reading(1764324000.0, {"smoke": False, "temperature": 21.25})
b'{"ts":"2025-11-28T10:00:00.000Z","values":{"smoke":false,"temperature":21.25}}'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

COMMUNITY_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
OBJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
METRIC_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_BATCH_READINGS = 1000
INCIDENT_EVENT_TYPES = (
    "reported",
    "dispatched",
    "accepted",
    "resolved",
    "closed",
    "reopened",
    "cancelled",
    "escalated",
    "noted",
)

Value = float | int | bool


@dataclass(frozen=True, slots=True)
class Wire:
    """Topic names for one community under one topic root."""

    root: str
    community: str

    def telemetry(self, device: str) -> str:
        return f"{self.root}/{self.community}/devices/{device}/telemetry"

    def status(self, device: str) -> str:
        return f"{self.root}/{self.community}/devices/{device}/status"

    def incident(self, incident: str) -> str:
        return f"{self.root}/{self.community}/incidents/{incident}/events"

    def subscription(self) -> str:
        """Everything of every community under the root."""
        return f"{self.root}/#"


def rfc3339(epoch_s: float) -> str:
    """UTC RFC 3339 with milliseconds, the form the ingestor parses fastest."""
    ms = round(epoch_s * 1000)
    dt = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def parse_time(text: str) -> float:
    """Epoch seconds of RFC 3339 text (``Z`` or an offset).

    >>> parse_time("2025-11-28T10:00:00.500Z")
    1764324000.5
    """
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def reading_obj(
    ts: float, values: dict[str, Value], *, pos: dict[str, float] | None = None
) -> dict[str, Any]:
    obj: dict[str, Any] = {"ts": rfc3339(ts), "values": values}
    if pos is not None:
        obj["pos"] = pos
    return obj


def reading(ts: float, values: dict[str, Value], *, pos: dict[str, float] | None = None) -> bytes:
    """One telemetry reading."""
    return dumps(reading_obj(ts, values, pos=pos))


def batch(readings: list[dict[str, Any]]) -> list[bytes]:
    """Gateway batches (JSON arrays) of at most 1000 readings each."""
    return [
        dumps(readings[i : i + MAX_BATCH_READINGS])
        for i in range(0, len(readings), MAX_BATCH_READINGS)
    ]


def status(online: bool, ts: float | None = None, *, battery: float | None = None) -> bytes:
    """A device status; without ``ts`` (a last will) the receive time counts.

    >>> status(False)
    b'{"online":false}'
    """
    obj: dict[str, Any] = {"online": online}
    if ts is not None:
        obj["ts"] = rfc3339(ts)
    if battery is not None:
        obj["battery"] = battery
    return dumps(obj)


def incident_event(event_id: str, type_: str, ts: float, **fields: Any) -> bytes:
    """An incident event; ``None`` fields are left out.

    >>> incident_event("r1:1", "accepted", 0.0, assignee="w-zhang", note=None)
    b'{"event_id":"r1:1","type":"accepted","ts":"1970-01-01T00:00:00.000Z","assignee":"w-zhang"}'
    """
    if type_ not in INCIDENT_EVENT_TYPES:
        raise ValueError(f"unknown incident event type {type_!r}")
    obj: dict[str, Any] = {"event_id": event_id, "type": type_, "ts": rfc3339(ts)}
    obj.update({k: v for k, v in fields.items() if v is not None})
    return dumps(obj)
