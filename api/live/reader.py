"""The live state's database access through the API's pool, as the applier and
``/stream`` need it: whole communities, changed rows, replays as events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from api.db import Conn, DatabaseUnavailableError
from api.live import events as ev
from api.live.document import CommunityLive
from api.live.loading import (
    ChangedObjects,
    Commits,
    load_community,
    read_commits,
    read_missed,
    read_objects,
    read_replay,
)


class LiveUnavailableError(DatabaseUnavailableError):
    """The live state cannot be read now (database down, service not running): 503."""


class LiveReader:
    def __init__(
        self,
        pool: AsyncConnectionPool[Conn],
        now: Callable[[], datetime],
        day_start: Callable[[datetime], datetime],
        replay_limit: int,
    ) -> None:
        self._pool = pool
        self.now = now
        self.day_start = day_start
        self.replay_limit = replay_limit

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        try:
            async with self._pool.connection() as conn:
                yield conn
        except (PoolTimeout, psycopg.OperationalError) as exc:
            raise LiveUnavailableError(f"database unavailable: {exc}") from exc

    async def load(self, community: str) -> CommunityLive | None:
        async with self.connection() as conn:
            return await load_community(conn, community, self.now(), self.day_start)

    async def commits(self, community: str, since: str) -> Commits:
        """The whole commits of ``community`` after the snapshot ``since``."""
        async with self.connection() as conn:
            return await read_commits(conn, community, since)

    async def missed(self, community: str, since: str, upto: str) -> list[ev.StreamEvent]:
        """Events of the commits ``upto`` saw and ``since`` did not (after a rebuild)."""
        async with self.connection() as conn:
            rows = await read_missed(conn, community, since, upto)
            objects = await read_objects(conn, community, [(r["kind"], r["ref"]) for r in rows])
        now = self.now()
        return [change_event(community, r, objects, now) for r in rows]

    async def replay(
        self, community: str, after: int, upto: str | None = None
    ) -> tuple[list[ev.StreamEvent], str | None]:
        """Change events of ``community`` after sequence ``after`` (whole commits, those
        the snapshot ``upto`` saw), or the reason they cannot all be given (the
        client must refetch /live)."""
        async with self.connection() as conn:
            found = await read_replay(conn, community, after, self.replay_limit, upto)
            if not found.complete:
                return [], found.reason
            refs = [(r["kind"], r["ref"]) for r in found.rows]
            objects = await read_objects(conn, community, refs)
        now = self.now()
        return [change_event(community, r, objects, now) for r in found.rows], None


def change_event(
    community: str, row: dict[str, Any], objects: ChangedObjects, now: datetime
) -> ev.StreamEvent:
    """The event of a change_log row, with the changed object's current state."""
    kind, ref = str(row["kind"]), str(row["ref"])
    data = row.get("data")
    return ev.change_event(
        community,
        int(row["seq"]),
        kind=kind,
        ref=ref,
        at=row.get("at"),
        data=data if isinstance(data, dict) else None,
        row=objects.row_for(kind, ref),
        now=now,
        commit=None if row.get("tx") is None else str(row["tx"]),
    )
