"""The ``accounts``, ``invites`` and ``sessions`` tables (migration 0080)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.db import Conn, fetch_one
from twin.people.roles import Household, Person, Role

_ACCOUNT = (
    "SELECT id, community_id, login, role, password_hash, building_id, unit_id, grids FROM accounts"
)


def person_of(row: dict[str, Any]) -> Person:
    household = (
        Household(row["building_id"], row["unit_id"]) if row["building_id"] is not None else None
    )
    return Person(
        row["id"], row["community_id"], Role(row["role"]), household, frozenset(row["grids"])
    )


async def account_by_login(conn: Conn, community: str, login: str) -> dict[str, Any] | None:
    return await fetch_one(
        conn,
        _ACCOUNT + " WHERE community_id = %(c)s AND login = %(l)s AND disabled_at IS NULL",
        {"c": community, "l": login},
    )


async def household_exists(conn: Conn, community: str, home: Household) -> bool:
    found = await fetch_one(
        conn,
        "SELECT 1 AS one FROM units WHERE community_id = %(c)s AND building_id = %(b)s"
        " AND id = %(u)s",
        {"c": community, "b": home.building_id, "u": home.unit_id},
    )
    return found is not None


async def grids_missing(conn: Conn, community: str, grids: list[str]) -> list[str]:
    found = await fetch_one(
        conn,
        "SELECT array(SELECT g FROM unnest(%(g)s::text[]) g WHERE NOT EXISTS"
        " (SELECT 1 FROM grids WHERE community_id = %(c)s AND id = g)) AS missing",
        {"c": community, "g": grids},
    )
    return list(found["missing"]) if found else grids


async def insert_invite(
    conn: Conn, digest: bytes, community: str, home: Household, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO invites (code_digest, community_id, building_id, unit_id, expires_at)"
        " VALUES (%(d)s, %(c)s, %(b)s, %(u)s, %(e)s)",
        {"d": digest, "c": community, "b": home.building_id, "u": home.unit_id, "e": expires_at},
    )


async def invite_row(conn: Conn, digest: bytes) -> dict[str, Any] | None:
    return await fetch_one(
        conn,
        "SELECT community_id, building_id, unit_id, expires_at, used_at FROM invites"
        " WHERE code_digest = %(d)s",
        {"d": digest},
    )


async def claim_invite(conn: Conn, digest: bytes, community: str) -> dict[str, Any] | None:
    """Mark the invite used, once: of two at the same moment exactly one gets the row."""
    return await fetch_one(
        conn,
        "UPDATE invites SET used_at = now() WHERE code_digest = %(d)s AND community_id = %(c)s"
        " AND used_at IS NULL AND expires_at > now() RETURNING building_id, unit_id",
        {"d": digest, "c": community},
    )


async def insert_account(
    conn: Conn,
    community: str,
    login: str,
    role: Role,
    password_hash: str,
    *,
    household: Household | None = None,
    grids: list[str] | None = None,
) -> dict[str, Any] | None:
    """The new account's row; None when the login is taken in this community."""
    return await fetch_one(
        conn,
        "INSERT INTO accounts (community_id, login, role, password_hash, building_id, unit_id,"
        " grids) VALUES (%(c)s, %(l)s, %(r)s, %(h)s, %(b)s, %(u)s, %(g)s)"
        " ON CONFLICT (community_id, login) DO NOTHING"
        " RETURNING id, community_id, login, role, building_id, unit_id, grids",
        {
            "c": community,
            "l": login,
            "r": role.value,
            "h": password_hash,
            "b": household.building_id if household else None,
            "u": household.unit_id if household else None,
            "g": grids or [],
        },
    )


async def set_invite_user(conn: Conn, digest: bytes, account_id: int) -> None:
    await conn.execute(
        "UPDATE invites SET used_by = %(a)s WHERE code_digest = %(d)s",
        {"a": account_id, "d": digest},
    )


async def insert_session(
    conn: Conn, token_digest: bytes, account_id: int, csrf_digest: bytes, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO sessions (token_digest, account_id, csrf_digest, expires_at)"
        " VALUES (%(t)s, %(a)s, %(x)s, %(e)s)",
        {"t": token_digest, "a": account_id, "x": csrf_digest, "e": expires_at},
    )


async def session_account(conn: Conn, token_digest: bytes) -> dict[str, Any] | None:
    """The live session's account (with the session's CSRF digest), or None."""
    return await fetch_one(
        conn,
        "SELECT a.id, a.community_id, a.login, a.role, a.building_id, a.unit_id, a.grids,"
        " s.csrf_digest FROM sessions s JOIN accounts a ON a.id = s.account_id"
        " WHERE s.token_digest = %(t)s AND s.expires_at > now() AND a.disabled_at IS NULL",
        {"t": token_digest},
    )


async def delete_session(conn: Conn, token_digest: bytes) -> None:
    await conn.execute("DELETE FROM sessions WHERE token_digest = %(t)s", {"t": token_digest})


async def reset_password(conn: Conn, community: str, account_id: int, password_hash: str) -> bool:
    """Set a new hash and end every session of the account; False if no such account here."""
    found = await fetch_one(
        conn,
        "UPDATE accounts SET password_hash = %(h)s WHERE id = %(a)s AND community_id = %(c)s"
        " RETURNING id",
        {"h": password_hash, "a": account_id, "c": community},
    )
    if found is None:
        return False
    await conn.execute("DELETE FROM sessions WHERE account_id = %(a)s", {"a": account_id})
    return True


async def login_of(conn: Conn, community: str, account_id: int) -> str | None:
    found = await fetch_one(
        conn,
        "SELECT login FROM accounts WHERE id = %(a)s AND community_id = %(c)s",
        {"a": account_id, "c": community},
    )
    return str(found["login"]) if found else None


async def set_disabled(conn: Conn, community: str, account_id: int, *, disabled: bool) -> bool:
    """Disable (ending every session of it) or enable an account; False if none here."""
    found = await fetch_one(
        conn,
        "UPDATE accounts SET disabled_at = CASE WHEN %(d)s THEN coalesce(disabled_at, now())"
        " END WHERE id = %(a)s AND community_id = %(c)s RETURNING id",
        {"d": disabled, "a": account_id, "c": community},
    )
    if found is None:
        return False
    if disabled:
        await conn.execute("DELETE FROM sessions WHERE account_id = %(a)s", {"a": account_id})
    return True
