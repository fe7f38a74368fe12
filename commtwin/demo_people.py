"""The demo's people: an office account, workers bound to grids, residents bound
to households through invites, all with one password derived from the cockpit key.

Idempotent like the other setup steps: an account that exists is kept (its
password set to the current one, so a new cockpit key means a new password
everywhere), a resident is made only once per household. The password is
derived from the cockpit key (printed by the demo already and kept in its
state file), so it is never a well-known default on a demo reachable from a
network.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Final

import psycopg

from api.db import Conn, fetch_all, run_once
from api.errors import ApiError
from api.queries import people as q
from commtwin.demo_banner import DemoLogin
from commtwin.demo_setup import COMMUNITY, DemoSetupError
from twin.people import invites
from twin.people.passwords import hash_password
from twin.people.roles import Household, Role

OFFICE: Final = "office"
MAX_WORKERS: Final = 3
MAX_RESIDENTS: Final = 3


def demo_password(cockpit_key: str) -> str:
    """The demo accounts' password: derived from the cockpit key (21 characters).

    >>> demo_password("ctk_example") == demo_password("ctk_example")
    True
    >>> len(demo_password("ctk_example")), demo_password("a") != demo_password("b")
    (21, True)
    """
    return (
        "demo-" + hashlib.sha256(f"commtwin demo people\0{cockpit_key}".encode()).hexdigest()[:16]
    )


async def _ensure(
    conn: Conn, login: str, role: Role, digest: str, grids: list[str] | None = None
) -> None:
    """Make the account, or set its password if it exists."""
    found = await q.account_by_login(conn, COMMUNITY, login)
    if found is not None:
        await q.reset_password(conn, COMMUNITY, found["id"], digest)
        return
    await q.insert_account(conn, COMMUNITY, login, role, digest, grids=grids)


async def _resident(conn: Conn, login: str, home: Household, digest: str) -> None:
    """A resident joins as a real one does: an invite for the household, redeemed once."""
    found = await q.account_by_login(conn, COMMUNITY, login)
    if found is not None:
        await q.reset_password(conn, COMMUNITY, found["id"], digest)
        return
    code = invites.digest(invites.new_code())
    async with conn.transaction():
        await q.insert_invite(conn, code, COMMUNITY, home, datetime.now(UTC) + timedelta(days=1))
        claimed = await q.claim_invite(conn, code, COMMUNITY)
        assert claimed is not None  # just made, unused
        row = await q.insert_account(conn, COMMUNITY, login, Role.RESIDENT, digest, household=home)
        if row is not None:
            await q.set_invite_user(conn, code, row["id"])


async def _people(conn: Conn, digest: str) -> list[DemoLogin]:
    made = [DemoLogin(OFFICE, "office", f"the office of {COMMUNITY}")]
    await _ensure(conn, OFFICE, Role.OFFICE, digest)
    grids = await fetch_all(
        conn,
        "SELECT id FROM grids WHERE community_id = %(c)s ORDER BY id LIMIT %(n)s",
        {"c": COMMUNITY, "n": MAX_WORKERS},
    )
    for n, g in enumerate(grids, start=1):
        login = f"worker{n}"
        await _ensure(conn, login, Role.WORKER, digest, grids=[g["id"]])
        made.append(DemoLogin(login, "worker", f"grid {g['id']}"))
    homes = await fetch_all(
        conn,
        "SELECT DISTINCT ON (building_id) building_id, id FROM units WHERE community_id = %(c)s"
        " ORDER BY building_id, id LIMIT %(n)s",
        {"c": COMMUNITY, "n": MAX_RESIDENTS},
    )
    for n, h in enumerate(homes, start=1):
        login = f"resident{n}"
        await _resident(conn, login, Household(h["building_id"], h["id"]), digest)
        made.append(DemoLogin(login, "resident", f"{h['building_id']} · {h['id']}"))
    return made


def ensure_people(url: str, cockpit_key: str) -> tuple[str, tuple[DemoLogin, ...]]:
    """``(password, logins)`` of the demo's people, made or refreshed in the database."""
    password = demo_password(cockpit_key)
    digest = hash_password(password)
    try:
        made = run_once(url, lambda conn: _people(conn, digest))
    except (ApiError, psycopg.Error) as exc:
        raise DemoSetupError(f"making the demo's accounts: {exc}") from None
    return password, tuple(made)
