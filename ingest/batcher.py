"""The bounded hand-off between the network thread and the committer.

The network thread puts whole read bursts; the committer takes a batch that
closes on size or on a short deadline after its first message. ``full()`` is
the backpressure signal: the network thread stops reading the socket, TCP
pushes back, and the broker keeps the rest (it holds unacknowledged QoS 1
messages for our persistent session anyway).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from ingest.mqtt_wire import Delivery


class Batcher:
    def __init__(
        self,
        max_messages: int = 40000,
        max_bytes: int = 64 * 1024 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._clock = clock
        self._chunks: deque[list[Delivery]] = deque()
        self._count = 0
        self._bytes = 0
        self._closed = False
        self._cond = threading.Condition()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def depth(self) -> int:
        return self._count

    def full(self) -> bool:
        return self._count >= self.max_messages or self._bytes >= self.max_bytes

    def put(self, deliveries: list[Delivery]) -> None:
        size = sum(len(d[1]) for d in deliveries)
        with self._cond:
            self._chunks.append(deliveries)
            self._count += len(deliveries)
            self._bytes += size
            self._cond.notify()

    def close(self) -> None:
        """No more puts will come; take() returns what is left, then []."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def discard_generation_before(self, generation: int) -> int:
        """Drop queued deliveries of older connections (the broker re-sends them)."""
        with self._cond:
            kept: deque[list[Delivery]] = deque()
            dropped = 0
            for chunk in self._chunks:
                fresh = [d for d in chunk if d[4] >= generation]
                dropped += len(chunk) - len(fresh)
                if fresh:
                    kept.append(fresh)
            self._chunks = kept
            self._count = sum(len(c) for c in kept)
            self._bytes = sum(len(d[1]) for c in kept for d in c)
            return dropped

    def take(
        self, max_batch: int, linger_s: float, wait_s: float = 0.5, max_bytes: int = 1 << 62
    ) -> list[Delivery]:
        """Up to ``max_batch`` deliveries and about ``max_bytes`` of payload.

        Waits ``wait_s`` for a first delivery, then at most ``linger_s`` for the
        batch to fill. Returns [] on timeout, or when closed and empty. The
        byte bound keeps gateway batches (100s of readings per message) from
        making huge transactions and transient memory.
        """
        with self._cond:
            if not self._chunks and not self._closed:
                self._cond.wait(wait_s)
            if not self._chunks:
                return []
            deadline = self._clock() + linger_s
            while self._count < max_batch and self._bytes < max_bytes and not self._closed:
                remaining = deadline - self._clock()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            batch: list[Delivery] = []
            size = 0
            while self._chunks and len(batch) < max_batch and size < max_bytes:
                chunk = self._chunks.popleft()
                room = max_batch - len(batch)
                taken = 0
                for d in chunk[:room]:
                    size += len(d[1])
                    taken += 1
                    if size >= max_bytes:
                        break
                if taken < len(chunk):
                    self._chunks.appendleft(chunk[taken:])
                    chunk = chunk[:taken]
                batch.extend(chunk)
            self._count -= len(batch)
            self._bytes -= size
            return batch
