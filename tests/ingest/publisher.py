"""A fast MQTT 3.1.1 QoS 1 publisher on a raw socket, for tests and benchmarks.

paho's publish path costs tens of microseconds per message in Python, so a
paho publisher cannot outrun the ingestor it is meant to load. This one
pre-encodes PUBLISH packets, writes them in large chunks and counts PUBACKs
(4 bytes each on a 3.1.1 connection) to keep a bounded window in flight, so
one process exceeds 20,000 messages/s and the broker, not the publisher, is the
limit. ``publish`` returns only when the broker acknowledged every message,
i.e. when each one is stored for every (persistent) subscriber.

Run as a separate process for load: ``python -m tests.ingest.publisher --help``.
"""

from __future__ import annotations

import argparse
import json
import socket
import struct
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CONNECT_FLAGS_CLEAN = 0x02
PUBACK_LEN = 4


@dataclass
class PublishStats:
    sent: int = 0
    seconds: float = 0.0
    # (wall-clock time, messages handed to the socket so far), one per chunk:
    # the benchmark maps commits back to publish times with it.
    timeline: list[tuple[float, int]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n % 128
        n //= 128
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _utf8(s: bytes) -> bytes:
    return struct.pack("!H", len(s)) + s


def connect_packet(client_id: str, keepalive: int = 0) -> bytes:
    body = _utf8(b"MQTT") + bytes([4, CONNECT_FLAGS_CLEAN]) + struct.pack("!H", keepalive)
    body += _utf8(client_id.encode())
    return b"\x10" + _varint(len(body)) + body


def publish_packet(topic: bytes, payload: bytes, packet_id: int, retain: bool = False) -> bytes:
    body = _utf8(topic) + struct.pack("!H", packet_id) + payload
    return bytes([0x32 | (1 if retain else 0)]) + _varint(len(body)) + body


class FastPublisher:
    """One raw MQTT 3.1.1 connection publishing QoS 1 with a bounded window."""

    def __init__(self, url: str, client_id: str = "commtwin-fastpub", window: int = 2000) -> None:
        parts = urlsplit(url)
        self._sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 1883))
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.sendall(connect_packet(client_id))
        connack = self._recv_exact(4)
        if connack[0] != 0x20 or connack[3] != 0:
            raise ConnectionError(f"broker refused the connection: {connack!r}")
        self.window = min(window, 60000)
        self._next_id = 1
        self._acked = 0
        self._pending_ack_bytes = 0

    def _recv_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self._sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            data += chunk
        return data

    def _drain_acks(self, block: bool) -> None:
        self._sock.setblocking(block)
        try:
            data = self._sock.recv(65536)
        except BlockingIOError:
            return
        finally:
            self._sock.setblocking(True)
        if not data:
            raise ConnectionError("broker closed the connection")
        total = self._pending_ack_bytes + len(data)
        self._acked += total // PUBACK_LEN
        self._pending_ack_bytes = total % PUBACK_LEN

    def publish(
        self,
        messages: Iterable[tuple[str, bytes]],
        *,
        rate: float | None = None,
        chunk: int = 200,
        retain: bool = False,
    ) -> PublishStats:
        """Publish every (topic, payload); return after all are acknowledged.

        ``rate`` (messages/s) paces the feed in chunks; ``None`` is as fast as
        the broker takes them.
        """
        stats = PublishStats()
        start = time.monotonic()
        buf: list[bytes] = []
        sent = 0
        for topic, payload in messages:
            buf.append(publish_packet(topic.encode(), payload, self._next_id, retain))
            self._next_id = self._next_id % 65535 + 1
            if len(buf) >= chunk:
                sent = self._flush(buf, sent, stats, start, rate)
                buf = []
        if buf:
            sent = self._flush(buf, sent, stats, start, rate)
        while self._acked < sent:
            self._drain_acks(block=True)
        stats.sent = sent
        stats.seconds = time.monotonic() - start
        return stats

    def _flush(
        self, buf: list[bytes], sent: int, stats: PublishStats, start: float, rate: float | None
    ) -> int:
        if rate:
            due = start + sent / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        while sent + len(buf) - self._acked > self.window:
            self._drain_acks(block=True)
        self._sock.sendall(b"".join(buf))
        sent += len(buf)
        stats.timeline.append((time.time(), sent))
        self._drain_acks(block=False)
        return sent

    def close(self) -> None:
        try:
            self._sock.sendall(b"\xe0\x00")  # DISCONNECT
        finally:
            self._sock.close()


def publish(url: str, messages: Iterable[tuple[str, bytes]], **kwargs: object) -> PublishStats:
    """Publish on a fresh connection and close it (see FastPublisher.publish)."""
    pub = FastPublisher(url)
    try:
        return pub.publish(messages, **kwargs)  # type: ignore[arg-type]
    finally:
        pub.close()


def telemetry_feed(
    count: int,
    *,
    community: str = "bench",
    devices: int = 1000,
    root: str = "commtwin/v1",
    start_ms: int | None = None,
    gateway: int = 0,
    live_ts: bool = False,
) -> Iterator[tuple[str, bytes]]:
    """``count`` messages of 3 metrics from ``devices`` devices, unique timestamps.

    Message i goes to device ``i % devices`` with ts ``start_ms + i`` so every
    reading is distinct (the feed lands as exactly ``3 * count`` rows, or
    ``3 * gateway * count`` for gateway batches). ``live_ts`` stamps the
    current wall-clock time instead (for latency measurements); readings stay
    distinct because each device's ts is forced to increase.
    """
    base = int(time.time() * 1000) - 3_600_000 if start_ms is None else start_ms
    topics = [f"{root}/{community}/devices/d{d:05d}/telemetry" for d in range(devices)]
    last = [0] * devices
    for i in range(count):
        d = i % devices
        if gateway:
            t0 = base + i * gateway
            readings = ",".join(
                f'{{"ts":{t0 + k},"values":{{"temperature":{20 + (i + k) % 10}.5,'
                f'"humidity":{40 + k % 20},"co2":{400 + i % 300}}}}}'
                for k in range(gateway)
            )
            yield topics[d], f"[{readings}]".encode()
            continue
        if live_ts:
            ts = max(int(time.time() * 1000), last[d] + 1)
            last[d] = ts
        else:
            ts = base + i
        yield (
            topics[d],
            f'{{"ts":{ts},"seq":{i},"values":{{"temperature":{20 + i % 10}.5,'
            f'"humidity":{40 + i % 20},"co2":{400 + i % 300}}}}}'.encode(),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="fast QoS 1 telemetry publisher (3 metrics)")
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--rate", type=float, default=0, help="messages/s; 0 = as fast as possible")
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--community", default="bench")
    parser.add_argument("--root", default="commtwin/v1")
    parser.add_argument("--gateway", type=int, default=0, help="readings per gateway batch")
    parser.add_argument("--start-ms", type=int, default=None)
    parser.add_argument("--live-ts", action="store_true", help="stamp readings with now")
    parser.add_argument("--client-id", default="commtwin-fastpub")
    parser.add_argument("--chunk", type=int, default=200, help="messages per socket write")
    parser.add_argument("--timeline", action="store_true", help="print the publish timeline")
    args = parser.parse_args(argv)
    feed = telemetry_feed(
        args.count,
        community=args.community,
        devices=args.devices,
        root=args.root,
        start_ms=args.start_ms,
        gateway=args.gateway,
        live_ts=args.live_ts,
    )
    pub = FastPublisher(args.url, client_id=args.client_id)
    try:
        stats = pub.publish(feed, rate=args.rate or None, chunk=args.chunk)
    finally:
        pub.close()
    out: dict[str, object] = {"sent": stats.sent, "seconds": stats.seconds, "rate": stats.rate}
    if args.timeline:
        out["timeline"] = stats.timeline
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
