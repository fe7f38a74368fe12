"""Web Push: tell a person's browser that an incident they may see changed, while
the phone page is closed (docs/people.md "Web Push").

One :class:`PushSender` per API process. While the app's lifespan runs it
follows the live hub of every community that has subscriptions (the same
change events ``/v1/me/stream`` follows) and judges each incident change by
the same rule as the stream (:mod:`api.routes.me_stream`). What is sent is
small and holds nothing personal: ``{"incident": id, "status": status,
"community": id}``; the page reads the rest with the person's session.

Sending is off the request path: a bounded queue, and pywebpush (blocking,
``requests``) in a worker thread. A push service's 404/410 deletes that
subscription; any other failure is logged and never reaches a request.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from cryptography.hazmat.primitives import serialization
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from api.db import Conn
from api.live import events as ev
from api.live.fanout import Subscriber
from api.live.hub import LiveHub
from api.push_config import PushConfig
from api.queries.people import person_of
from api.queries.people_reports import incident_scope
from api.queries.push import forget, subscribed_communities, subscribers
from api.routes.me_stream import sees_by_grid
from twin.people.roles import Role
from twin.people.visibility import ReportScope, may_see

log = logging.getLogger(__name__)

# pg_try_advisory_lock key of the one sending process (any fixed number; "push").
PUSH_LOCK = 0x70757368
# How often a process without the lock tries again, and the holder checks its connection.
LEAD_CHECK_S = 10.0


@dataclass(frozen=True, slots=True)
class Notice:
    subscription_id: int
    endpoint: str
    p256dh: str
    auth: str
    payload: bytes


def application_server_key(vapid: Vapid) -> str:
    """The public key as browsers take it: the uncompressed P-256 point, base64url."""
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def incident_change(event: ev.StreamEvent) -> tuple[str, str, str | None, str | None] | None:
    """``(community, incident id, grid, status)`` of an incident event; None otherwise.

    >>> data = '{"community": "c", "incident": {"id": "r-1", "grid": "g1", "status": "accepted"}}'
    >>> incident_change(ev.StreamEvent("incident", 7, data))
    ('c', 'r-1', 'g1', 'accepted')
    >>> incident_change(ev.StreamEvent("alarm", 8, '{"community": "c"}')) is None
    True
    """
    if event.event != "incident":
        return None
    body = orjson.loads(event.data)
    item = body.get("incident")
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    grid, status = item.get("grid"), item.get("status")
    return (
        str(body.get("community")),
        item["id"],
        grid if isinstance(grid, str) else None,
        status if isinstance(status, str) else None,
    )


async def audience(conn: Conn, community: str, iid: str, grid: str | None) -> list[dict[str, Any]]:
    """The subscriptions of people who may see this incident (me_stream's rule)."""
    chosen: list[dict[str, Any]] = []
    scope: ReportScope | None = None
    scope_read = False
    for row in await subscribers(conn, community):
        person = person_of(row)
        if person.role is not Role.RESIDENT:
            if sees_by_grid(person, grid):
                chosen.append(row)
            continue
        if not scope_read:  # whose report it is: read once, only if a resident listens
            scope, scope_read = await incident_scope(conn, community, iid), True
        if scope is not None and may_see(person, scope):
            chosen.append(row)
    return chosen


class PushSender:
    """Follows the hub's incident changes and sends Web Push; one per API process."""

    def __init__(self, config: PushConfig, hub: LiveHub) -> None:
        self.config = config
        self.vapid = Vapid.from_pem(config.private_key_pem.encode())
        self.public_key = application_server_key(self.vapid)
        self.hub = hub
        self.sent = 0  # accepted by a push service (for tests and logs)
        self._queue: asyncio.Queue[Notice] = asyncio.Queue(config.queue_size)
        self._watched: dict[str, asyncio.Task[None]] = {}
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._leading = False

    @asynccontextmanager
    async def running(
        self, pool: AsyncConnectionPool[Conn], database_url: str
    ) -> AsyncIterator[None]:
        self._pool = pool
        self._queue = asyncio.Queue(self.config.queue_size)  # bound to the running loop
        self._tasks.append(asyncio.create_task(self._send_loop(), name="push-send"))
        self._tasks.append(asyncio.create_task(self._lead(database_url), name="push-lead"))
        try:
            yield
        finally:
            self._stop_watching()
            for task in self._tasks:
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self._tasks.clear()
            self._pool = None

    def watch(self, community: str) -> None:
        """Follow this community's changes (a subscription was added there)."""
        if not self._leading or community in self._watched:
            return
        self._watched[community] = asyncio.create_task(
            self._follow(community), name=f"push-{community}"
        )

    def _stop_watching(self) -> None:
        self._leading = False
        for task in self._watched.values():
            task.cancel()
        self._watched.clear()

    async def _lead(self, database_url: str) -> None:
        """Send only while holding the advisory lock: with several API worker
        processes (``commtwin api --workers``) one of them sends, not each."""
        while True:
            try:
                async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
                    cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (PUSH_LOCK,))
                    row = await cur.fetchone()
                    if row is not None and row[0]:
                        self._leading = True
                        await self._watch_subscribed()
                        while True:  # the lock lives as long as this connection
                            await asyncio.sleep(LEAD_CHECK_S)
                            await conn.execute("SELECT 1")
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:
                log.warning("web push: lost the sending lock's connection: %s", exc)
            except Exception:  # a bug, not the network: keep its traceback, try again
                log.exception("web push: the sender failed; trying again")
            finally:
                self._stop_watching()
            await asyncio.sleep(LEAD_CHECK_S)

    async def _watch_subscribed(self) -> None:
        assert self._pool is not None
        async with self._pool.connection() as conn:
            found = await subscribed_communities(conn)
        for community in found:
            self.watch(community)

    async def _follow(self, community: str) -> None:
        while True:
            try:
                if await self.hub.ensure(community) is None:
                    return
                sub = self.hub.subscribe(community)
                try:
                    await self._read(community, sub)
                finally:
                    self.hub.unsubscribe(sub)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("web push: following %s failed; again in 5 s", community)
                await asyncio.sleep(5.0)

    async def _read(self, community: str, sub: Subscriber) -> None:
        """One notification per incident per commit: a report and its automatic
        dispatch are two change-log rows of one commit (the ``version`` event closes it)."""
        pending: dict[str, tuple[str | None, str | None]] = {}
        while True:
            event = await sub.queue.get()
            if sub.lagged:  # changes were missed: nothing precise to tell
                sub.drain()
                pending.clear()
                log.warning("web push: changes of %s missed (slow sender)", community)
                continue
            if event.event == ev.VERSION:
                for iid, (grid, status) in pending.items():
                    await self._judge(community, iid, grid, status)
                pending.clear()
            elif event.event == ev.RESET:
                pending.clear()
            else:
                change = incident_change(event)
                if change is not None and change[0] == community:
                    pending[change[1]] = change[2:]

    async def _judge(self, community: str, iid: str, grid: str | None, status: str | None) -> None:
        assert self._pool is not None
        async with self._pool.connection() as conn:
            rows = await audience(conn, community, iid, grid)
        payload = orjson.dumps({"community": community, "incident": iid, "status": status})
        for row in rows:
            notice = Notice(
                row["subscription_id"], row["endpoint"], row["p256dh"], row["auth"], payload
            )
            try:
                self._queue.put_nowait(notice)
            except asyncio.QueueFull:
                log.warning("web push: queue full, a notification of %s dropped", iid)

    async def _send_loop(self) -> None:
        while True:
            notice = await self._queue.get()
            try:
                gone = await asyncio.to_thread(self._send, notice)
                if gone and self._pool is not None:
                    async with self._pool.connection() as conn:
                        await forget(conn, notice.subscription_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("web push: sending to subscription %s failed", notice.subscription_id)

    def _send(self, notice: Notice) -> bool:
        """Send one (in a thread); True when the push service says the subscription is gone."""
        info = {"endpoint": notice.endpoint, "keys": {"p256dh": notice.p256dh, "auth": notice.auth}}
        try:
            webpush(
                info,
                data=notice.payload,
                vapid_private_key=self.vapid,
                vapid_claims={"sub": self.config.subject},  # a fresh dict: webpush adds aud, exp
                content_encoding="aes128gcm",
                ttl=self.config.ttl_s,
                timeout=10,
            )
        except WebPushException as exc:
            code = exc.response.status_code if exc.response is not None else None
            if code in (404, 410):
                log.info("web push: subscription %s gone (%s)", notice.subscription_id, code)
                return True
            log.warning("web push: subscription %s: %s", notice.subscription_id, exc)
            return False
        self.sent += 1
        return False
