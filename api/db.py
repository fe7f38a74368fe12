"""Thin helpers over psycopg's async connections, shared by routes and the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import psycopg
from psycopg.abc import QueryNoTemplate as Query
from psycopg.rows import DictRow, dict_row

Conn: TypeAlias = psycopg.AsyncConnection[tuple[Any, ...]]
Params: TypeAlias = Mapping[str, object]


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
