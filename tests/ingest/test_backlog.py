"""A backlog waiting at the broker: the ingestor's queue stays within --queue-max.

The broker may send up to its inflight window (20,000 here) before any ack;
the network thread must still hand over and look at backpressure every read
burst, not only once the socket runs dry (which it never does with a
backlog). It once queued 220,000 messages over a 40,000 bound.
"""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

from tests.ingest.helpers import IngestProcess, scalar, wait_for_value
from tests.ingest.publisher import publish, telemetry_feed
from tests.services import Broker, free_port

FEED = 40_000
QUEUE_MAX = 2_000
BURST = 512  # ingest.consumer._READ_BURST: one burst may land after the check


def queue_depth(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("commtwin_ingest_queue_depth "):
                return float(line.split()[1])
    raise LookupError("no queue depth metric")


def test_a_backlog_never_overfills_the_queue(
    broker: Broker, ingest_db: str, root: str, tmp_path: Path
) -> None:
    client_id = f"backlog-{root}"
    first = IngestProcess(ingest_db, broker.url, tmp_path, client_id=client_id, root=root)
    first.wait_connected()  # the persistent session exists from here on
    assert first.terminate() == 0, first.log
    publish(broker.url, list(telemetry_feed(FEED, community="lanting", root=root)))

    port = free_port()
    second = IngestProcess(
        ingest_db,
        broker.url,
        tmp_path,
        client_id=client_id,
        root=root,
        extra=("--queue-max", str(QUEUE_MAX), "--batch-max", "500", "--metrics-host", "127.0.0.1"),
        env={"COMMTWIN_METRICS_PORT": str(port)},
    )
    depths: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            try:
                depths.append(queue_depth(port))
            except OSError:
                continue  # not listening yet

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        second.wait_connected()
        rows = 3 * FEED
        got = wait_for_value(lambda: scalar(ingest_db, "SELECT count(*) FROM readings"), rows, 120)
        assert got == rows
    finally:
        done.set()
        sampler.join(5)
    assert second.terminate() == 0, second.log
    assert len(depths) > 20, "too few samples to say anything"
    assert max(depths) > 0, "the backlog never showed in the queue"
    assert max(depths) <= QUEUE_MAX + 2 * BURST, max(depths)
    assert "Keep alive timeout" not in second.log
