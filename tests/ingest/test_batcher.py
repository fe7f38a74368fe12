"""The bounded hand-off: batch limits by count and bytes, backpressure, generations."""

from __future__ import annotations

import threading
import time

from ingest.batcher import Batcher
from ingest.mqtt_wire import Delivery


def deliveries(n: int, size: int = 10, gen: int = 1, start: int = 0) -> list[Delivery]:
    return [("t", b"x" * size, 0, start + i + 1, gen) for i in range(n)]


def test_batches_close_on_count_and_on_bytes() -> None:
    b = Batcher()
    b.put(deliveries(30))
    b.put(deliveries(30, start=30))
    first = b.take(max_batch=50, linger_s=0)
    assert [d[3] for d in first] == list(range(1, 51))  # order kept across chunks
    assert b.depth == 10
    b.put(deliveries(10, size=1000, start=60))
    by_bytes = b.take(max_batch=1000, linger_s=0, max_bytes=3000)
    # The 10 small ones (100 bytes) and then big ones until 3000 bytes are reached.
    assert len(by_bytes) == 13
    assert sum(len(d[1]) for d in by_bytes) >= 3000
    assert b.depth == 7


def test_full_is_the_backpressure_signal() -> None:
    b = Batcher(max_messages=100, max_bytes=10_000)
    b.put(deliveries(99))
    assert not b.full()
    b.put(deliveries(1))
    assert b.full()
    b.take(max_batch=50, linger_s=0)
    assert not b.full()
    b.put(deliveries(1, size=20_000))
    assert b.full()


def test_linger_waits_for_a_fuller_batch_but_not_forever() -> None:
    b = Batcher()
    b.put(deliveries(1))
    threading.Timer(0.05, lambda: b.put(deliveries(4, start=1))).start()
    started = time.monotonic()
    batch = b.take(max_batch=5, linger_s=2.0)
    assert len(batch) == 5
    assert time.monotonic() - started < 1.0  # closed by count, not by the deadline
    b.put(deliveries(1))
    started = time.monotonic()
    assert len(b.take(max_batch=5, linger_s=0.1)) == 1
    assert time.monotonic() - started < 0.5


def test_close_drains_then_returns_empty() -> None:
    b = Batcher()
    b.put(deliveries(3))
    b.close()
    assert len(b.take(10, linger_s=5)) == 3  # closed: no lingering
    assert b.take(10, linger_s=5) == []
    assert b.closed


def test_deliveries_of_an_old_connection_are_dropped() -> None:
    b = Batcher()
    b.put(deliveries(5, gen=1) + deliveries(2, gen=2, start=5))
    assert b.discard_generation_before(2) == 5
    assert [d[4] for d in b.take(10, linger_s=0)] == [2, 2]
