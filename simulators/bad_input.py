"""Malformed messages of every dead-letter kind, each with the reason it must get.

The reason codes are the ingestor's public contract (``dead_letters.reason``,
``ingest/messages.py:Reason``). Every case carries a nonce so that repeated
cases are distinct payloads (dead letters are deduplicated by topic, payload
hash and reason). ``now`` is the real clock (epoch s): the ingestor judges
timestamps against its receive time, not the simulation's.

>>> w = Wire("commtwin/v1", "lanting")
>>> c = bad_case(w, "ts_future", 7, now=1_800_000_000.0)
>>> c.reason, c.topic
('ts_future', 'commtwin/v1/lanting/devices/sim-bad-ts_future/telemetry')
>>> sorted({bad_case(w, k, 1, 0.0).reason for k in BAD_KINDS}) == sorted(BAD_KINDS)
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from simulators.wire import MAX_PAYLOAD_BYTES, Wire, dumps, rfc3339

# Dead-letter reasons this module can provoke, in the order cases cycle.
BAD_KINDS: tuple[str, ...] = (
    "bad_json",
    "bad_utf8",
    "oversize",
    "bad_topic",
    "bad_id",
    "topic_mismatch",
    "schema",
    "bad_metric",
    "bad_value_type",
    "non_finite",
    "bad_ts",
    "ts_future",
    "ts_too_old",
    "unknown_community",
    "invalid_transition",
)


@dataclass(frozen=True, slots=True)
class BadCase:
    kind: str
    reason: str  # the dead-letter reason the ingestor must record
    topic: str
    payload: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()

    def expectation(self) -> dict[str, str]:
        """The line the ``bad`` command writes to its ``--expect`` file."""
        return {
            "kind": self.kind,
            "reason": self.reason,
            "topic": self.topic,
            "payload_sha256": self.sha256,
        }


def _ms(t: float) -> int:
    return round(t * 1000)


def _device(w: Wire, kind: str) -> str:
    return w.telemetry(f"sim-bad-{kind}")


Builder = Callable[[Wire, int, float], tuple[str, bytes]]


def _reading(nonce: int, now: float, **values: object) -> bytes:
    return dumps({"ts": _ms(now), "values": values or {"temperature": 20.0}, "seq": nonce})


_BUILDERS: dict[str, Builder] = {
    "bad_json": lambda w, n, now: (
        _device(w, "bad_json"),
        b'{"ts": %d, "values": {"temperature": 21.5' % n,
    ),
    "bad_utf8": lambda w, n, now: (
        _device(w, "bad_utf8"),
        b'{"values": {"temperature": 21.5}, "seq": %d, "x": "\xff\xfe"}' % n,
    ),
    "oversize": lambda w, n, now: (
        _device(w, "oversize"),
        dumps({"values": {"temperature": 20.0}, "seq": n, "pad": "x" * (MAX_PAYLOAD_BYTES + 10)}),
    ),
    "bad_topic": lambda w, n, now: (
        f"{w.root}/{w.community}/gadgets/sim-bad-topic/telemetry",
        _reading(n, now),
    ),
    "bad_id": lambda w, n, now: (
        w.telemetry("-sim-bad-id"),  # ids must start with a letter or digit
        _reading(n, now),
    ),
    "topic_mismatch": lambda w, n, now: (
        _device(w, "topic_mismatch"),
        dumps({"online": True, "ts": _ms(now), "battery": float(n % 100)}),
    ),
    "schema": lambda w, n, now: (
        _device(w, "schema"),
        dumps({"ts": _ms(now), "temperature": 21.5, "seq": n}),
    ),
    "bad_metric": lambda w, n, now: (
        _device(w, "bad_metric"),
        _reading(n, now, **{"Temperature": 21.5}),
    ),
    "bad_value_type": lambda w, n, now: (
        _device(w, "bad_value_type"),
        _reading(n, now, temperature="warm"),
    ),
    "non_finite": lambda w, n, now: (
        _device(w, "non_finite"),
        b'{"seq": %d, "values": {"temperature": NaN}}' % n,
    ),
    "bad_ts": lambda w, n, now: (
        _device(w, "bad_ts"),
        dumps({"ts": "yesterday", "values": {"temperature": 20.0}, "seq": n}),
    ),
    "ts_future": lambda w, n, now: (
        _device(w, "ts_future"),
        dumps({"ts": rfc3339(now + 3600.0), "values": {"temperature": 20.0}, "seq": n}),
    ),
    "ts_too_old": lambda w, n, now: (
        _device(w, "ts_too_old"),
        dumps({"ts": "1999-12-31T23:59:59Z", "values": {"temperature": 20.0}, "seq": n}),
    ),
    "unknown_community": lambda w, n, now: (
        Wire(w.root, "sim-no-such-community").telemetry("sim-bad-unknown"),
        _reading(n, now),
    ),
    # Closing an incident nobody reported: the state machine refuses it.
    "invalid_transition": lambda w, n, now: (
        w.incident(f"sim-bad-never-reported-{n}"),
        dumps({"event_id": f"sim-bad-{n}", "type": "closed", "ts": rfc3339(now - 1.0)}),
    ),
}


def bad_case(w: Wire, kind: str, nonce: int, now: float) -> BadCase:
    if kind not in _BUILDERS:
        raise ValueError(f"unknown bad-input kind {kind!r} (known: {', '.join(BAD_KINDS)})")
    topic, payload = _BUILDERS[kind](w, nonce, now)
    return BadCase(kind, kind, topic, payload)


def nth_case(w: Wire, n: int, now: float, kinds: tuple[str, ...] = BAD_KINDS) -> BadCase:
    """The ``n``-th bad case of a mix cycling through ``kinds``."""
    return bad_case(w, kinds[n % len(kinds)], n, now)
