"""The MQTT wire contract as data: JSON Schemas shipped in ``schemas/mqtt/``.

>>> sorted(SCHEMAS)
['incident_event', 'status', 'telemetry']
>>> schema_for_topic_kind("events")["$id"]
'urn:commtwin:mqtt:v1:incident_event'
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Final

SCHEMAS: Final = ("incident_event", "status", "telemetry")
_BY_TOPIC_KIND: Final = {"telemetry": "telemetry", "status": "status", "events": "incident_event"}


@cache
def load_schema(name: str) -> dict[str, Any]:
    """One schema by name (see SCHEMAS), parsed."""
    if name not in SCHEMAS:
        raise KeyError(f"no MQTT schema named {name!r}")
    text = (resources.files("schemas") / "mqtt" / f"{name}.json").read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def schema_for_topic_kind(kind: str) -> dict[str, Any]:
    """The schema of a topic kind: ``telemetry``, ``status`` or ``events``."""
    return load_schema(_BY_TOPIC_KIND[kind])
