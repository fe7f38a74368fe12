"""`commtwin simulate bad`: publish malformed messages and say what each must become.

Publishes ``count`` cases cycling through ``kinds`` and (optionally) writes
one JSON line per case to ``expect``: kind, expected dead-letter reason,
topic and payload SHA-256 — exactly the dead-letter table's dedup key, so a
test or an operator can check that every one landed with its reason.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson

from simulators.bad_input import BAD_KINDS, BadCase, bad_case
from simulators.broker import BrokerConfig
from simulators.mqtt_links import Link
from simulators.wire import Wire


def plan_bad(w: Wire, count: int, kinds: tuple[str, ...], now: float) -> list[BadCase]:
    unknown = [k for k in kinds if k not in BAD_KINDS]
    if unknown:
        raise ValueError(f"unknown bad-input kind {unknown[0]!r} (known: {', '.join(BAD_KINDS)})")
    if count < 0:
        raise ValueError("--count must be >= 0")
    # The nonce is the real time in ms plus n, so the cases of two runs differ.
    base = int(now * 1000)
    return [bad_case(w, kinds[n % len(kinds)], base + n, now) for n in range(count)]


async def send_bad(
    broker: BrokerConfig,
    w: Wire,
    *,
    count: int | None = None,
    kinds: tuple[str, ...] = BAD_KINDS,
    expect: Path | None = None,
) -> dict[str, Any]:
    """Publish the cases (QoS 1, acknowledged) and return the summary."""
    cases = plan_bad(w, len(kinds) if count is None else count, kinds, time.time())
    if expect is not None:
        expect.write_bytes(b"".join(orjson.dumps(c.expectation()) + b"\n" for c in cases))
    link = Link(broker, f"{w.community}-bad")
    sent = errors = 0
    by_reason: dict[str, int] = {}
    await link.open()  # fail fast (one line) when the broker is unreachable
    try:
        for case in cases:
            if await link.publish(case.topic, case.payload):
                sent += 1
                by_reason[case.reason] = by_reason.get(case.reason, 0) + 1
            else:
                errors += 1
    finally:
        await link.close()
    return {
        "mode": "bad",
        "sent": sent,
        "errors": errors,
        "by_reason": dict(sorted(by_reason.items())),
        "expect": str(expect) if expect else None,
    }
