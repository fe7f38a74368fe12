"""Ingest's caches stay bounded and reload what they forgot (issue 15, part 2).

A real database holding three generated communities: a registry bounded to
a few device keys and a places cache bounded to two models still give every
lookup the database's answer, forgetting the oldest entries and loading
them again on their next use.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from commtwin import db
from commtwin.cmd_district import generate_and_import
from ingest.places import Places
from ingest.registry import Registry
from simulators.district_gen import DistrictSpec
from tests.services import scratch_database


@pytest.fixture(scope="module")
def three_communities() -> Iterator[tuple[str, list[str]]]:
    with scratch_database("commtwin_bounded") as url:
        db.upgrade(url, prefer="plain")
        ids = generate_and_import(url, DistrictSpec(communities=3, buildings=1), quiet=True)
        yield url, ids


def test_a_bounded_registry_forgets_the_oldest_and_looks_them_up_again(
    three_communities: tuple[str, list[str]],
) -> None:
    url, ids = three_communities
    with psycopg.connect(url, autocommit=True) as conn:
        stored = {
            (str(c), str(d)): int(k)
            for c, d, k in conn.execute(
                "SELECT community_id, id, key FROM devices WHERE community_id = %s ORDER BY id",
                (ids[0],),
            ).fetchall()
        }
        pairs = list(stored)[:40]
        registry = Registry(max_devices=10)
        registry.resolve_communities(conn, [ids[0]], 0)
        for i in range(0, len(pairs), 8):
            batch = pairs[i : i + 8]
            assert registry.resolve_devices(conn, batch) == []  # none is new
            assert [registry.device_key(*p) for p in batch] == [stored[p] for p in batch]
            registry.commit()
            assert len(registry.devices) <= 10
            assert len(registry.device_community) == len(registry.devices)
        assert registry.evicted >= 30
        first = pairs[0]
        assert first not in registry.devices
        # Forgotten, then asked for again: the same key, no new device row.
        assert registry.resolve_devices(conn, [first]) == []
        assert registry.device_key(*first) == stored[first]
        assert registry.community_of_key(stored[first]) == ids[0]
        registry.commit()
        row = conn.execute("SELECT count(*) FROM devices WHERE community_id = %s", (ids[0],))
        assert row.fetchone() == (len(stored),)


def test_bounded_places_keep_the_most_recently_used_models(
    three_communities: tuple[str, list[str]],
) -> None:
    url, ids = three_communities
    places = Places(max_communities=2)
    with psycopg.connect(url, autocommit=True) as conn:
        a, b, c = (places.get(conn, cid) for cid in ids)
        assert a is not None
        assert b is not None
        assert c is not None
        assert [p.id for p in places.cached()] == [ids[1], ids[2]]
        assert places.evicted == 1
        loads = places.version
        assert places.get(conn, ids[2]) is c  # held: no load
        again = places.get(conn, ids[0])  # forgotten: loaded again, equal content
        assert places.version == loads + 1
        assert again is not None
        assert again is not a
        assert dict(again.devices) == dict(a.devices)
        assert [p.id for p in places.cached()] == [ids[2], ids[0]]


def test_aged_or_doubtful_models_are_reloaded_in_the_background_and_swapped_only_if_changed(
    three_communities: tuple[str, list[str]],
) -> None:
    url, ids = three_communities
    clock = [0.0]
    places = Places(max_age_s=60, clock=lambda: clock[0])
    with psycopg.connect(url, autocommit=True) as conn:
        first = places.get(conn, ids[0])
        assert first is not None
        clock[0] = 61.0  # aged: still served as it is, no load on the batch path
        loads = places.version
        assert places.get(conn, ids[0]) is first
        assert places.version == loads
        assert places.refresh_due(conn) == 1  # reloaded, the same rows: kept
        assert places.get(conn, ids[0]) is first
        assert places.version == loads
        assert places.refresh_due(conn) == 0  # fresh again

        key, kind = conn.execute(
            "SELECT key, kind FROM devices WHERE community_id = %s ORDER BY key LIMIT 1",
            (ids[0],),
        ).fetchone() or (0, "")
        conn.execute("UPDATE devices SET kind = 'renamed' WHERE key = %s", (key,))
        try:
            places.mark_stale()  # missed notifications: in doubt, not reloaded on use
            assert places.get(conn, ids[0]) is first
            assert places.refresh_due(conn) == 1
            changed = places.get(conn, ids[0])
            assert changed is not first
            assert changed is not None
            assert changed.devices[key].kind == "renamed"
            assert places.version == loads + 1
        finally:
            conn.execute("UPDATE devices SET kind = %s WHERE key = %s", (kind, key))
