"""Ingestors partitioned by community (issue 25, part 4): each subscribes to its own
communities' topics only, against one database; two communities' feeds land
exactly once, each through its own ingestor."""

from __future__ import annotations

import time
from pathlib import Path

from tests.ingest.helpers import IngestProcess, add_community, scalar, wait_for_value
from tests.ingest.publisher import publish, telemetry_feed
from tests.services import Broker

PER_COMMUNITY = 5_000
ROWS_OF = (
    "SELECT count(*) FROM readings r JOIN devices d ON d.key = r.device_key"
    " WHERE d.community_id = %s"
)


def test_two_ingestors_each_with_its_communities_lose_and_double_nothing(
    broker: Broker, ingest_db: str, root: str, tmp_path: Path
) -> None:
    add_community(ingest_db, "xihu")
    east = IngestProcess(
        ingest_db, broker.url, tmp_path, client_id=f"east-{root}", root=root,
        extra=("--communities", "lanting"),
    )  # fmt: skip
    west = IngestProcess(
        ingest_db, broker.url, tmp_path, client_id=f"west-{root}", root=root,
        env={"COMMTWIN_INGEST_COMMUNITIES": "xihu"},
    )  # fmt: skip
    east.wait_connected()
    west.wait_connected()
    assert f"topics={root}/lanting/#" in east.log
    assert f"topics={root}/xihu/#" in west.log
    time.sleep(0.3)  # both subscriptions in place before the first message
    start = int(time.time() * 1000) - 3_600_000
    feeds = [
        list(telemetry_feed(PER_COMMUNITY, community=c, root=root, start_ms=start, devices=200))
        for c in ("lanting", "xihu")
    ]
    # Interleaved, as one broker receives a district's communities.
    publish(broker.url, [m for pair in zip(*feeds, strict=True) for m in pair])
    total = 2 * 3 * PER_COMMUNITY
    assert (
        wait_for_value(lambda: scalar(ingest_db, "SELECT count(*) FROM readings"), total, 120)
        == total
    )
    assert east.terminate() == 0, east.log
    assert west.terminate() == 0, west.log
    assert east.committed() == PER_COMMUNITY
    assert west.committed() == PER_COMMUNITY
    for cid in ("lanting", "xihu"):
        assert scalar(ingest_db, ROWS_OF, (cid,)) == 3 * PER_COMMUNITY
        assert (
            scalar(ingest_db, "SELECT count(*) FROM devices WHERE community_id = %s", (cid,)) == 200
        )
    assert scalar(ingest_db, "SELECT sum(n)::bigint FROM readings_1m") == total
    assert scalar(ingest_db, "SELECT sum(n)::bigint FROM readings_1h") == total
    assert scalar(ingest_db, "SELECT count(*) FROM dead_letters") == 0
