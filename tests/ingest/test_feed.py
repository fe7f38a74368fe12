"""End to end on real Mosquitto + PostgreSQL: a 50,000-message feed lands exactly once,
also across kill -9, a database outage, and split over two shared-subscription ingestors."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from tests.ingest.helpers import IngestProcess, TcpProxy, scalar, wait_for_value
from tests.ingest.publisher import FastPublisher, publish, telemetry_feed
from tests.services import Broker

FEED = 50_000
ROWS = 3 * FEED
COUNT_ROWS = "SELECT count(*) FROM readings"
# Exactly once: every (device, metric, ts) of the feed once, and the rollups
# count each inserted row once.
ROLLUP_ROWS = "SELECT sum(n)::bigint FROM readings_1m"


def feed(root: str, count: int = FEED) -> list[tuple[str, bytes]]:
    return list(telemetry_feed(count, community="lanting", root=root))


def assert_exactly_once(url: str, count: int = FEED) -> None:
    assert scalar(url, COUNT_ROWS) == 3 * count
    assert scalar(url, ROLLUP_ROWS) == 3 * count
    assert scalar(url, "SELECT sum(n)::bigint FROM readings_1h") == 3 * count
    assert scalar(url, "SELECT count(*) FROM devices WHERE community_id = 'lanting'") == 1000
    assert scalar(url, "SELECT count(*) FROM dead_letters") == 0
    # seq i carries temperature 20 + i % 10 + .5: sums prove no row was altered.
    expected = sum(20 + i % 10 + 0.5 for i in range(count))
    got = scalar(
        url,
        "SELECT sum(value) FROM readings r JOIN metrics m ON m.key = r.metric_key "
        "WHERE m.name = 'temperature'",
    )
    assert abs(got - expected) < 1e-6 * expected


def test_feed_lands_exactly_once(broker: Broker, ingest_db: str, root: str, tmp_path: Path) -> None:
    ingestor = IngestProcess(ingest_db, broker.url, tmp_path, client_id=f"once-{root}", root=root)
    ingestor.wait_connected()
    publish(broker.url, feed(root))
    assert wait_for_value(lambda: scalar(ingest_db, COUNT_ROWS), ROWS, 120) == ROWS
    assert ingestor.terminate() == 0, ingestor.log
    assert ingestor.committed() == FEED
    assert_exactly_once(ingest_db)


def test_kill_9_halfway_then_restart_loses_and_doubles_nothing(
    broker: Broker, ingest_db: str, root: str, tmp_path: Path
) -> None:
    client_id = f"kill-{root}"
    first = IngestProcess(ingest_db, broker.url, tmp_path, client_id=client_id, root=root)
    first.wait_connected()
    messages = feed(root)
    done = threading.Event()
    # Slow enough that the kill lands mid-feed, with batches in flight.
    sender = threading.Thread(
        target=lambda: (publish(broker.url, messages, rate=10_000), done.set()), daemon=True
    )
    sender.start()
    assert wait_for_value(lambda: scalar(ingest_db, COUNT_ROWS) >= ROWS // 3, True, 60)
    first.kill()
    killed_at = scalar(ingest_db, COUNT_ROWS)
    assert killed_at < ROWS, "the kill came too late to prove anything"
    time.sleep(0.5)  # the feed goes on into the broker, for our persistent session
    second = IngestProcess(ingest_db, broker.url, tmp_path, client_id=client_id, root=root)
    second.wait_connected()
    assert "session_present=True" in second.log
    sender.join(60)
    assert done.is_set()
    assert wait_for_value(lambda: scalar(ingest_db, COUNT_ROWS), ROWS, 120) == ROWS
    assert second.terminate() == 0, second.log
    assert_exactly_once(ingest_db)


def test_database_outage_mid_feed(
    broker: Broker, ingest_db: str, root: str, tmp_path: Path
) -> None:
    """The shared PostgreSQL cannot be restarted here: the ingestor reaches it through
    a proxy that is cut (open connections reset, new ones refused) and restored."""
    proxy = TcpProxy(ingest_db)
    try:
        ingestor = IngestProcess(
            proxy.url, broker.url, tmp_path, client_id=f"dbdown-{root}", root=root
        )
        ingestor.wait_connected()
        messages = feed(root)
        sender = threading.Thread(
            target=lambda: publish(broker.url, messages, rate=10_000), daemon=True
        )
        sender.start()
        assert wait_for_value(lambda: scalar(ingest_db, COUNT_ROWS) >= ROWS // 4, True, 60)
        proxy.cut()
        cut_at = scalar(ingest_db, COUNT_ROWS)
        time.sleep(3.0)  # the database stays away while the feed continues
        assert scalar(ingest_db, COUNT_ROWS) == cut_at
        assert cut_at < ROWS
        proxy.restore()
        sender.join(60)
        assert wait_for_value(lambda: scalar(ingest_db, COUNT_ROWS), ROWS, 120) == ROWS
        assert ingestor.terminate() == 0, ingestor.log
        assert "batch write failed" in ingestor.log
        assert_exactly_once(ingest_db)
    finally:
        proxy.close()


def test_two_shared_ingestors_split_the_feed(
    broker: Broker, ingest_db: str, root: str, tmp_path: Path
) -> None:
    group = ["--group", "g" + root.split("/", maxsplit=1)[0]]
    a = IngestProcess(
        ingest_db, broker.url, tmp_path, client_id=f"a-{root}", root=root, extra=tuple(group)
    )
    b = IngestProcess(
        ingest_db, broker.url, tmp_path, client_id=f"b-{root}", root=root, extra=tuple(group)
    )
    a.wait_connected()
    b.wait_connected()
    time.sleep(0.3)  # both subscriptions in place before the first message
    publish(broker.url, feed(root))
    assert wait_for_value(lambda: scalar(ingest_db, COUNT_ROWS), ROWS, 120) == ROWS
    assert a.terminate() == 0, a.log
    assert b.terminate() == 0, b.log
    share_a, share_b = a.committed(), b.committed()
    assert share_a + share_b == FEED
    assert min(share_a, share_b) > FEED // 4, (share_a, share_b)
    assert_exactly_once(ingest_db)


def test_mqtt_311_and_sigterm_drain(
    broker: Broker, ingest_db: str, root: str, tmp_path: Path
) -> None:
    """3.1.1 sessions work the same; SIGTERM right after the feed still commits all."""
    ingestor = IngestProcess(
        ingest_db,
        broker.url,
        tmp_path,
        client_id=f"v311-{root}",
        root=root,
        extra=("--protocol", "3.1.1", "--linger-ms", "500"),
    )
    ingestor.wait_connected()
    pub = FastPublisher(broker.url, client_id=f"pub-{root}")
    try:
        pub.publish(feed(root, 5000))
    finally:
        pub.close()
    time.sleep(0.2)
    assert ingestor.terminate() == 0, ingestor.log
    received = ingestor.committed()
    assert scalar(ingest_db, COUNT_ROWS) == 3 * received
    rest = IngestProcess(
        ingest_db,
        broker.url,
        tmp_path,
        client_id=f"v311-{root}",
        root=root,
        extra=("--protocol", "3.1.1", "--log-format", "json"),
    )
    rest.wait_connected()
    assert wait_for_value(lambda: scalar(ingest_db, COUNT_ROWS), 15000, 60) == 15000
    assert rest.terminate() == 0
    assert rest.committed() == 5000 - received
    logs = [json.loads(line) for line in rest.log.splitlines()]
    assert {"ts", "level", "logger", "msg"} <= set(logs[0])
    assert any("session_present=True" in entry["msg"] for entry in logs)
