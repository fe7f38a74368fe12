"""Web Push subscriptions (``push_subscriptions``, docs/people.md "Web Push")."""

from __future__ import annotations

from typing import Any

from api.db import Conn, fetch_all, fetch_one

# A person's browsers kept at most: a phone re-subscribing for months stays bounded.
MAX_PER_ACCOUNT = 5


async def subscribe(conn: Conn, account_id: int, endpoint: str, p256dh: str, auth: str) -> bool:
    """Keep (or renew the keys of) this account's subscription; False when the
    endpoint is another account's (left as it is)."""
    found = await fetch_one(
        conn,
        "INSERT INTO push_subscriptions (account_id, endpoint, p256dh, auth)"
        " VALUES (%(a)s, %(e)s, %(p)s, %(k)s)"
        " ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth"
        " WHERE push_subscriptions.account_id = excluded.account_id RETURNING id",
        {"a": account_id, "e": endpoint, "p": p256dh, "k": auth},
    )
    if found is None:
        return False
    await conn.execute(
        "DELETE FROM push_subscriptions WHERE account_id = %(a)s AND id NOT IN"
        " (SELECT id FROM push_subscriptions WHERE account_id = %(a)s"
        "  ORDER BY created_at DESC, id DESC LIMIT %(n)s)",
        {"a": account_id, "n": MAX_PER_ACCOUNT},
    )
    return True


async def unsubscribe(conn: Conn, account_id: int, endpoint: str) -> bool:
    """Forget this account's subscription at ``endpoint``; False if it has none there."""
    found = await fetch_one(
        conn,
        "DELETE FROM push_subscriptions WHERE account_id = %(a)s AND endpoint = %(e)s RETURNING id",
        {"a": account_id, "e": endpoint},
    )
    return found is not None


async def forget(conn: Conn, subscription_id: int) -> None:
    """The push service said the subscription is gone (404/410)."""
    await conn.execute("DELETE FROM push_subscriptions WHERE id = %(i)s", {"i": subscription_id})


async def subscribed_communities(conn: Conn) -> list[str]:
    rows = await fetch_all(
        conn,
        "SELECT DISTINCT a.community_id FROM push_subscriptions p"
        " JOIN accounts a ON a.id = p.account_id WHERE a.disabled_at IS NULL",
    )
    return [str(r["community_id"]) for r in rows]


async def subscribers(conn: Conn, community: str) -> list[dict[str, Any]]:
    """Every live subscription of the community with its account (as person_of reads it)."""
    return await fetch_all(
        conn,
        "SELECT p.id AS subscription_id, p.endpoint, p.p256dh, p.auth,"
        " a.id, a.community_id, a.role, a.building_id, a.unit_id, a.grids"
        " FROM push_subscriptions p JOIN accounts a ON a.id = p.account_id"
        " WHERE a.community_id = %(c)s AND a.disabled_at IS NULL",
        {"c": community},
    )
