"""The topic half of the wire contract: ``R/{community}/devices/{device}/telemetry``.

>>> parse_topic("commtwin/v1/lanting/devices/smoke-1/telemetry", "commtwin/v1")
TopicRef(kind='telemetry', community='lanting', ident='smoke-1')
>>> parse_topic("commtwin/v1/Lanting/devices/smoke-1/status", "commtwin/v1").reason
'bad_id'
>>> subscriptions("commtwin/v1", group="ingest")
['$share/ingest/commtwin/v1/#']
>>> subscriptions("commtwin/v1", group="east", communities=("lanting", "xihu"))
['$share/east/commtwin/v1/lanting/#', '$share/east/commtwin/v1/xihu/#']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

from ingest.messages import Reason, Rejected

COMMUNITY_RE: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
IDENT_RE: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
METRIC_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")

TopicKind = Literal["telemetry", "status", "events"]
_SHAPES: Final[dict[tuple[str, str], TopicKind]] = {
    ("devices", "telemetry"): "telemetry",
    ("devices", "status"): "status",
    ("incidents", "events"): "events",
}
_EXPECTED: Final = (
    "R/{community}/devices/{device}/telemetry|status or R/{community}/incidents/{incident}/events"
)


@dataclass(frozen=True, slots=True)
class TopicRef:
    kind: TopicKind
    community: str
    ident: str  # device id, or incident id for events


def subscriptions(
    root: str, group: str | None = None, communities: tuple[str, ...] = ()
) -> list[str]:
    """What the ingestor subscribes to.

    Everything under the root, so a message on a misspelt topic becomes a
    ``bad_topic`` dead letter instead of silently going nowhere. With a
    group, an MQTT v5 shared subscription spreads messages over the group.
    With ``communities``, only their topics: ingestors split a district by
    community (a misspelt community then reaches only a catch-all ingestor).
    """
    topics = [f"{root}/{c}/#" for c in communities] or [f"{root}/#"]
    return [f"$share/{group}/{t}" if group else t for t in topics]


@lru_cache(maxsize=16)
def _valid_topic(root: str) -> re.Pattern[str]:
    """One pattern for every valid topic under ``root`` (the shapes, both ids)."""
    ident = IDENT_RE.pattern
    return re.compile(
        rf"{re.escape(root)}/({COMMUNITY_RE.pattern})/"
        rf"(?:devices/({ident})/(telemetry|status)|incidents/({ident})/events)"
    )


@lru_cache(maxsize=65536)
def parse_topic(topic: str, root: str) -> TopicRef | Rejected:
    """Split and validate a topic (pure; cached because devices repeat).

    A district's 400,000 devices overflow the cache, so a miss is one
    match of a single pattern; the step-by-step checks below run only for a
    topic that fails it, to name the reason.

    >>> parse_topic("commtwin/v1/lanting/incidents/i-9/events", "commtwin/v1").kind
    'events'
    """
    valid = _valid_topic(root).fullmatch(topic)
    if valid is not None:
        community, device, kind, incident = valid.groups()
        if device is not None:
            return TopicRef(kind, community, device)  # type: ignore[arg-type]
        return TopicRef("events", community, incident)
    prefix = root + "/"
    if not topic.startswith(prefix):
        return Rejected(Reason.BAD_TOPIC, f"topic is outside {root}/")
    parts = topic[len(prefix) :].split("/")
    if len(parts) != 4 or (parts[1], parts[3]) not in _SHAPES:
        return Rejected(Reason.BAD_TOPIC, f"expected {_EXPECTED}")
    community, _, ident, _ = parts
    if COMMUNITY_RE.fullmatch(community) is None:
        return Rejected(Reason.BAD_ID, f"community id {community[:80]!r} is malformed")
    if IDENT_RE.fullmatch(ident) is None:
        what = "incident" if parts[1] == "incidents" else "device"
        return Rejected(Reason.BAD_ID, f"{what} id {ident[:140]!r} is malformed", community)
    return TopicRef(_SHAPES[(parts[1], parts[3])], community, ident)
