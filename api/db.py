"""Thin helpers over psycopg's async connections, shared by routes and the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeAlias, TypeVar

import psycopg
from psycopg.abc import QueryNoTemplate as Query
from psycopg.rows import DictRow, dict_row

from api.errors import ApiError

Conn: TypeAlias = psycopg.AsyncConnection[tuple[Any, ...]]
Params: TypeAlias = Mapping[str, object]
T = TypeVar("T")


class DatabaseUnavailableError(ApiError):
    status_code = 503


async def fetch_all(conn: Conn, query: Query, params: Params | None = None) -> list[DictRow]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchall()


async def fetch_one(conn: Conn, query: Query, params: Params | None = None) -> DictRow | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, params)
        return await cur.fetchone()


async def connect(url: str) -> Conn:
    """A standalone autocommit connection (the CLI's; the API uses its pool)."""
    return await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=5)


def run_once(url: str, action: Callable[[Conn], Awaitable[T]]) -> T:
    """Run ``action`` on a fresh connection from synchronous code (the CLI).

    Connection failures become :class:`DatabaseUnavailableError` with one line.
    """

    async def main() -> T:
        async with await connect(url) as conn:
            return await action(conn)

    try:
        return asyncio.run(main())
    except psycopg.OperationalError as exc:
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        raise DatabaseUnavailableError(f"cannot connect to the database: {first}") from None
