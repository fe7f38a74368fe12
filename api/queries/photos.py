"""The ``photos`` table (migration 0081) and the incident row photos hang on."""

from __future__ import annotations

from typing import Any, Final, LiteralString

from psycopg import sql

from api.db import Conn, fetch_all, fetch_one
from twin.people.photos import CheckedPhoto

_COLUMNS: Final = sql.SQL(
    "id, community_id, incident_id, uploaded_by, stage, client_id, content_type, bytes,"
    " width, height, object_key, thumb_key, created_at"
)
_SELECT: Final = sql.SQL(
    "SELECT {columns} FROM photos WHERE community_id = %(c)s AND incident_id = %(i)s {more}"
)


def _select(more: LiteralString) -> sql.Composed:
    return _SELECT.format(columns=_COLUMNS, more=sql.SQL(more))


# The most photos one incident holds per stage: the list is never paged.
LIST_LIMIT: Final = 100


async def photos_of(conn: Conn, community: str, incident: str) -> list[dict[str, Any]]:
    return await fetch_all(
        conn,
        _select("ORDER BY id LIMIT %(n)s"),
        {"c": community, "i": incident, "n": LIST_LIMIT},
    )


async def photo(conn: Conn, community: str, incident: str, photo_id: int) -> dict[str, Any] | None:
    return await fetch_one(
        conn,
        _select("AND id = %(p)s"),
        {"c": community, "i": incident, "p": photo_id},
    )


async def by_client_id(
    conn: Conn, community: str, incident: str, client_id: str
) -> dict[str, Any] | None:
    return await fetch_one(
        conn,
        _select("AND client_id = %(k)s"),
        {"c": community, "i": incident, "k": client_id},
    )


async def lock_incident(conn: Conn, community: str, incident: str) -> None:
    """Serialise uploads to one incident until the transaction ends (the count below holds)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('photos/' || %(c)s || '/' || %(i)s, 0))",
        {"c": community, "i": incident},
    )


async def count(conn: Conn, community: str, incident: str, stage: str) -> int:
    found = await fetch_one(
        conn,
        "SELECT count(*) AS n FROM photos"
        " WHERE community_id = %(c)s AND incident_id = %(i)s AND stage = %(s)s",
        {"c": community, "i": incident, "s": stage},
    )
    return int(found["n"]) if found else 0


_INSERT: Final = sql.SQL(
    "INSERT INTO photos (community_id, incident_id, uploaded_by, stage, client_id,"
    " content_type, bytes, width, height, object_key, thumb_key, sha256)"
    " VALUES (%(c)s, %(i)s, %(a)s, %(s)s, %(k)s, %(t)s, %(b)s, %(w)s, %(h)s, %(o)s, %(th)s, %(d)s)"
    " ON CONFLICT (community_id, incident_id, client_id) DO NOTHING RETURNING {columns}"
)


async def insert(
    conn: Conn,
    *,
    community: str,
    incident: str,
    account_id: int,
    stage: str,
    client_id: str | None,
    checked: CheckedPhoto,
    object_key: str,
    thumb_key: str,
) -> dict[str, Any] | None:
    """The new row; None when this client id is already stored for the incident."""
    return await fetch_one(
        conn,
        _INSERT.format(columns=_COLUMNS),
        {
            "c": community,
            "i": incident,
            "a": account_id,
            "s": stage,
            "k": client_id,
            "t": checked.content_type,
            "b": len(checked.data),
            "w": checked.width,
            "h": checked.height,
            "o": object_key,
            "th": thumb_key,
            "d": checked.sha256,
        },
    )


async def delete(conn: Conn, community: str, incident: str, photo_id: int) -> None:
    await conn.execute(
        "DELETE FROM photos WHERE community_id = %(c)s AND incident_id = %(i)s AND id = %(p)s",
        {"c": community, "i": incident, "p": photo_id},
    )
