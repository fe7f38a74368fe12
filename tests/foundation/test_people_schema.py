"""Migration 0080 (people) against a real PostgreSQL: what the schema refuses.

The API's invite redemption is one conditional UPDATE (``... WHERE used_at IS
NULL RETURNING``): run from two connections at once, exactly one wins.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from commtwin import db
from twin.people.invites import digest, new_code
from twin.people.passwords import hash_password

REDEEM = """
UPDATE invites SET used_at = now(), used_by = %(account)s
 WHERE code_digest = %(digest)s AND community_id = %(community)s
   AND used_at IS NULL AND expires_at > now()
RETURNING building_id, unit_id
"""


@pytest.fixture
def people_db(empty_database_url: str) -> str:
    db.upgrade(empty_database_url, prefer="plain")
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        for cid in ("lanting", "xixi"):
            conn.execute(
                "INSERT INTO communities (id, name, crs) VALUES (%s, %s, 'EPSG:4326')", (cid, cid)
            )
    return empty_database_url


def add_account(conn: psycopg.Connection[tuple[object, ...]], **kw: object) -> int:
    row = {"community": "lanting", "building": None, "unit": None, "grids": [], **kw}
    found = conn.execute(
        "INSERT INTO accounts (community_id, login, role, password_hash, building_id, unit_id,"
        " grids) VALUES (%(community)s, %(login)s, %(role)s, %(hash)s, %(building)s, %(unit)s,"
        " %(grids)s) RETURNING id",
        {"hash": hash_password("plum blossom 17"), **row},
    ).fetchone()
    assert found is not None
    return int(str(found[0]))


def test_the_schema_refuses_accounts_whose_role_and_bindings_disagree(people_db: str) -> None:
    with psycopg.connect(people_db, autocommit=True) as conn:
        add_account(conn, login="wang", role="resident", building="b01", unit="u1")
        add_account(conn, login="li", role="worker", grids=["g1"])
        bad = [
            {"login": "zhao", "role": "resident"},  # a resident without a home
            {"login": "qian", "role": "office", "grids": ["g1"]},  # the office has no grids
            {"login": "sun", "role": "janitor"},
            {"login": "Wang Lei", "role": "office"},  # not a login name
            {"login": "wang", "role": "office"},  # taken in this community
        ]
        for fields in bad:
            with pytest.raises(psycopg.errors.IntegrityError):
                add_account(conn, **fields)
        add_account(conn, login="wang", role="office", community="xixi")  # another community's
        stored = conn.execute("SELECT password_hash FROM accounts").fetchall()
        assert all(str(h).startswith("$argon2id$") for (h,) in stored)


def test_an_invite_is_redeemed_once_even_by_two_at_once(people_db: str) -> None:
    code = new_code()
    with psycopg.connect(people_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO invites (code_digest, community_id, building_id, unit_id, expires_at)"
            " VALUES (%s, 'lanting', 'b01', 'u1', %s)",
            (digest(code), datetime.now(UTC) + timedelta(days=7)),
        )
        first = add_account(conn, login="wang", role="resident", building="b01", unit="u1")
        second = add_account(conn, login="wang2", role="resident", building="b01", unit="u1")
    won: list[object] = []
    barrier = threading.Barrier(2)

    def redeem(account: int) -> None:
        with psycopg.connect(people_db) as conn:
            barrier.wait()
            won.extend(
                conn.execute(
                    REDEEM, {"account": account, "digest": digest(code), "community": "lanting"}
                ).fetchall()
            )

    threads = [threading.Thread(target=redeem, args=(a,)) for a in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert won == [("b01", "u1")]
    with psycopg.connect(people_db) as conn:
        args = {"account": first, "digest": digest(code.lower()), "community": "lanting"}
        assert conn.execute(REDEEM, args).fetchall() == []  # used: typed another way, still used
        assert conn.execute(REDEEM, {**args, "community": "xixi"}).fetchall() == []


def test_deleting_a_community_deletes_its_people(people_db: str) -> None:
    with psycopg.connect(people_db, autocommit=True) as conn:
        account = add_account(conn, login="wang", role="office")
        conn.execute(
            "INSERT INTO sessions (token_digest, account_id, csrf_digest, expires_at)"
            " VALUES ('\\x01', %s, '\\x02', now() + interval '1 hour')",
            (account,),
        )
        conn.execute("DELETE FROM communities WHERE id = 'lanting'")
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM accounts), (SELECT count(*) FROM sessions)"
        ).fetchone()
        assert counts == (0, 0)
