"""The ``api_keys`` table: create, list, revoke, and look up a presented key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import sql

from api.db import Conn, fetch_all, fetch_one
from api.errors import BadRequestError, NotFoundError
from api.keys import ApiKey, check_scopes, matches, new_key, split_key
from api.models.keys import KeyCreated, KeyPublic

_COLUMNS = sql.SQL("id, prefix, name, scopes, communities, districts, created_at, revoked_at")
_INSERT = sql.SQL(
    "INSERT INTO api_keys (prefix, secret_sha256, name, scopes, communities, districts)"
    " VALUES (%(p)s, %(h)s, %(n)s, %(s)s, %(c)s, %(d)s) RETURNING {columns}"
).format(columns=_COLUMNS)
_LIST = sql.SQL(
    "SELECT {columns} FROM api_keys WHERE %(all)s OR revoked_at IS NULL ORDER BY id"
).format(columns=_COLUMNS)
_REVOKE = sql.SQL(
    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())"
    " WHERE id = %(id)s OR prefix = %(p)s RETURNING {columns}"
).format(columns=_COLUMNS)


def _public(r: dict[str, Any]) -> KeyPublic:
    return KeyPublic(
        id=r["id"],
        prefix=r["prefix"],
        name=r["name"],
        scopes=list(r["scopes"]),
        communities=list(r["communities"]),
        districts=list(r["districts"]),
        created_at=r["created_at"],
        revoked_at=r["revoked_at"],
    )


async def create_key(
    conn: Conn,
    scopes: list[str],
    communities: list[str],
    name: str | None,
    *,
    districts: Sequence[str] = (),
) -> KeyCreated:
    """Store a new key's hash; the returned ``key`` text is the only copy."""
    try:
        checked = check_scopes(scopes)
    except ValueError as exc:
        raise BadRequestError("scopes", str(exc)) from None
    wanted = sorted(set(communities))
    known = {
        r["id"]
        for r in await fetch_all(
            conn, "SELECT id FROM communities WHERE id = ANY(%(ids)s)", {"ids": wanted}
        )
    }
    missing = [c for c in wanted if c not in known]
    if missing:
        raise BadRequestError("communities", f"unknown community {missing[0]!r}")
    in_districts = sorted(set(districts))
    known_districts = {
        r["id"]
        for r in await fetch_all(
            conn, "SELECT id FROM districts WHERE id = ANY(%(ids)s)", {"ids": in_districts}
        )
    }
    missing = [d for d in in_districts if d not in known_districts]
    if missing:
        raise BadRequestError("districts", f"unknown district {missing[0]!r}")
    secret = new_key()
    row = await fetch_one(
        conn,
        _INSERT,
        {
            "p": secret.prefix,
            "h": secret.digest,
            "n": name,
            "s": sorted(checked),
            "c": wanted,
            "d": in_districts,
        },
    )
    assert row is not None  # INSERT ... RETURNING always returns the row
    return KeyCreated(**_public(row).model_dump(), key=secret.text)


async def list_keys(conn: Conn, *, include_revoked: bool = False) -> list[KeyPublic]:
    rows = await fetch_all(
        conn,
        _LIST,
        {"all": include_revoked},
    )
    return [_public(r) for r in rows]


async def revoke_key(conn: Conn, ident: str) -> KeyPublic:
    """Revoke by prefix (12 hex digits) or id; revoking twice keeps the first time."""
    is_prefix = len(ident) == 12 and all(c in "0123456789abcdef" for c in ident)
    by_id = int(ident) if not is_prefix and ident.isdigit() and len(ident) <= 18 else None
    row = await fetch_one(
        conn,
        _REVOKE,
        {"id": by_id, "p": ident if is_prefix else None},
    )
    if row is None:
        raise NotFoundError("key", ident)
    return _public(row)


async def authenticate(conn: Conn, text: str) -> ApiKey | None:
    """The valid, unrevoked key ``text`` is, or ``None``."""
    try:
        prefix, secret = split_key(text)
    except ValueError:
        return None
    row = await fetch_one(
        conn,
        "SELECT id, prefix, name, scopes, communities, districts, secret_sha256,"
        " ARRAY(SELECT m.community_id FROM district_communities m"
        "       WHERE m.district_id = ANY(k.districts)) AS members"
        " FROM api_keys k WHERE prefix = %(p)s AND revoked_at IS NULL",
        {"p": prefix},
    )
    if row is None or not matches(secret, bytes(row["secret_sha256"])):
        return None
    return ApiKey(
        id=row["id"],
        prefix=row["prefix"],
        name=row["name"],
        scopes=frozenset(row["scopes"]),
        communities=frozenset(row["communities"]),
        districts=frozenset(row["districts"]),
        members=frozenset(row["members"]),
    )
