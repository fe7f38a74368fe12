"""The LISTEN connection: one per API process, outside the pool, reconnecting forever.

It delivers every notification of the channels it listens on, and calls
``on_connect`` each time LISTEN is (re)established, *after* LISTEN is active,
so that whatever the owner reloads then cannot miss a change committed
during the gap. ``on_disconnect`` marks the start of a gap.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Sequence

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

# How the link shows in pg_stat_activity.
APPLICATION_NAME = "commtwin-api-live"
# How often an idle link is checked (a server gone without a TCP reset shows here).
CHECK_EVERY_S = 30.0


def backoff_delay(attempt: int, base: float = 0.2, cap: float = 10.0, jitter: float = 0.0) -> float:
    """Seconds to wait before reconnect ``attempt`` (0-based): doubling, capped, jittered.

    >>> [backoff_delay(n) for n in range(8)]
    [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0]
    >>> backoff_delay(3, jitter=0.5) == 1.6 * 1.5
    True
    """
    return float(min(cap, base * 2.0 ** min(attempt, 30)) * (1.0 + jitter))


async def listen(
    url: str,
    channels: Sequence[str],
    deliver: Callable[[str, str], None],
    *,
    on_connect: Callable[[], None],
    on_disconnect: Callable[[str], None],
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run until cancelled: LISTEN on ``channels`` and hand ``(channel, payload)`` over."""
    attempt = 0
    while True:
        try:
            # TCP keepalives find a dead peer even while nothing is sent.
            conn = await psycopg.AsyncConnection.connect(
                url,
                autocommit=True,
                connect_timeout=5,
                application_name=APPLICATION_NAME,
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=3,
            )
        except (psycopg.Error, OSError) as exc:
            reason = _one_line(exc)
        else:
            try:
                async with conn:
                    for channel in channels:
                        await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                    if attempt:
                        log.info("live: database link restored")
                    attempt = 0
                    on_connect()
                    while True:
                        async for note in conn.notifies(timeout=CHECK_EVERY_S):
                            deliver(note.channel, note.payload)
                        await asyncio.wait_for(conn.execute("SELECT 1"), CHECK_EVERY_S / 3)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                reason = _one_line(exc)
        on_disconnect(reason)
        delay = backoff_delay(attempt, jitter=random.random() * 0.2)
        log.warning("live: database link lost (%s); retrying in %.1f s", reason, delay)
        attempt += 1
        await sleep(delay)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
