"""A database outage: /live keeps answering from memory what it holds, answers 503 for
what it would have to read, and catches up by itself when the database is back."""

from __future__ import annotations

import httpx
import psycopg

from api.app import create_app
from api.config import ApiConfig
from tests.api.conftest import serve
from tests.api.live_fixtures import seeded_database, wait_until
from tests.api.seed import A, B
from tests.ingest.helpers import TcpProxy


def test_live_rides_out_a_database_outage_and_catches_up() -> None:
    with seeded_database("commtwin_live_outage") as (url, seeded):
        proxy = TcpProxy(url)
        try:
            config = ApiConfig(
                proxy.url, rate_per_s=1e6, rate_burst=1e6, key_cache_s=60.0, pool_timeout_s=1.0
            )
            admin = {"Authorization": f"Bearer {seeded.keys['admin']}"}
            with serve(create_app(config)) as base:

                def live(cid: str = A) -> httpx.Response:
                    return httpx.get(f"{base}/v1/communities/{cid}/live", headers=admin, timeout=30)

                before = live()
                assert before.status_code == 200
                proxy.cut()
                # Held in memory: still served, even for a request with a fresh connection.
                assert live().status_code == 200
                assert live().headers["etag"] == before.headers["etag"]
                # Not held: it would need the database.
                down = live(B)
                assert down.status_code == 503
                assert "database" in down.json()["detail"]
                # Meanwhile, a change commits (not through the cut link).
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(
                        "UPDATE devices SET online = false WHERE community_id = %s"
                        " AND id = 'env-b2'",
                        (A,),
                    )
                    row = conn.execute(
                        "INSERT INTO change_log (community_id, kind, ref)"
                        " VALUES (%s, 'device', 'env-b2') RETURNING seq",
                        (A,),
                    ).fetchone()
                assert row is not None
                proxy.restore()
                assert wait_until(lambda: live().json()["version"] >= row[0], timeout=20)
                after = live().json()
                assert (
                    after["kpis"]["devices_online"] == before.json()["kpis"]["devices_online"] - 1
                )
                assert live(B).status_code == 200
        finally:
            proxy.close()
