"""One load-generating connection: paced, pipelined QoS 1 publishes on a raw socket.

A worker owns a slice of the simulated devices (``index``, ``index + P``,
...) so that no two workers write the same device, and keeps each device's
timestamps strictly increasing (readings are deduplicated on device, metric
and timestamp). Up to ``window`` publishes may await their PUBACK; a reader
thread counts acknowledgements. Counters go to a shared array so the parent
can show progress: ``[sent, acked, failed, readings, bad, send_ms]``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import MutableSequence
from dataclasses import dataclass

from simulators import mqtt_codec as codec
from simulators.bad_input import nth_case
from simulators.broker import BrokerConfig
from simulators.wire import Wire

SENT, ACKED, FAILED, READINGS, BAD, SEND_MS = range(6)
FIELDS = 6
CHUNK = 256  # packets per socket write
# Readings of one device need distinct milliseconds; a device sending faster
# than 1000 readings/s would push its timestamps ahead of the real clock, and
# the ingestor dead-letters those more than 5 minutes ahead.
MAX_LEAD_MS = 60_000
MAX_READINGS_PER_DEVICE_S = 500


class LoadError(Exception):
    """The load cannot start or continue (broker unreachable, refused)."""


@dataclass(frozen=True, slots=True)
class LoadSpec:
    broker: BrokerConfig
    topic_root: str
    community: str
    rate: float  # messages/s for the whole load; 0 = as fast as possible
    duration: float  # seconds of sending
    batch: int = 1  # readings per message (gateway batches when > 1)
    devices: int = 1000
    processes: int = 1
    window: int = 20_000  # unacknowledged publishes allowed per worker
    bad_fraction: float = 0.0
    ack_timeout: float = 15.0


def _device_topics(spec: LoadSpec, index: int) -> list[tuple[int, bytes]]:
    w = Wire(spec.topic_root, spec.community)
    return [
        (d, codec.topic_field(w.telemetry(f"load-{d:06d}")))
        for d in range(index, spec.devices, spec.processes)
    ]


def _reading(ts_ms: int, seq: int) -> bytes:
    # Cheap, varied, plausible values: formatting beats building a dict.
    return b'{"ts":%d,"values":{"temperature":%.1f,"humidity":%.1f,"power_kw":%.2f},"seq":%d}' % (
        ts_ms,
        18.0 + (seq % 97) / 10,
        40.0 + (seq % 53),
        0.2 + (seq % 211) / 50,
        seq,
    )


def _open(spec: LoadSpec, client_id: str) -> socket.socket:
    b = spec.broker
    try:
        sock = socket.create_connection((b.host, b.port), timeout=10)
    except OSError as exc:
        raise LoadError(f"cannot connect to the MQTT broker at {b.host}:{b.port}: {exc}") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    tls = b.ssl_context()
    if tls is not None:
        sock = tls.wrap_socket(sock, server_hostname=b.host)
    sock.sendall(
        codec.connect(client_id, v5=b.v5, username=b.username, password=b.password, keepalive=120)
    )
    reader = codec.PacketReader()
    while True:
        data = sock.recv(4096)
        if not data:
            raise LoadError("the broker closed the connection during CONNECT")
        for kind, body in reader.feed(data):
            if kind == codec.CONNACK:
                ok, code = codec.connack_ok(body)
                if not ok:
                    raise LoadError(f"the broker refused the connection (code {code})")
                sock.settimeout(None)
                return sock


class _Acks(threading.Thread):
    def __init__(self, sock: socket.socket, counters: MutableSequence[int], base: int) -> None:
        super().__init__(daemon=True)
        self.sock, self.counters, self.base = sock, counters, base
        self.error: str | None = None

    def run(self) -> None:
        reader = codec.PacketReader()
        acked = failed = 0
        try:
            while True:
                data = self.sock.recv(262144)
                if not data:
                    return
                for kind, body in reader.feed(data):
                    if kind == codec.PUBACK:
                        if codec.puback_failed(body):
                            failed += 1
                        else:
                            acked += 1
                    elif kind == codec.DISCONNECT:
                        self.error = f"the broker disconnected us (reason {body[:1].hex()})"
                        return
                self.counters[self.base + ACKED] = acked
                self.counters[self.base + FAILED] = failed
        except (OSError, codec.ProtocolError) as exc:
            self.error = str(exc)
        finally:
            self.counters[self.base + ACKED] = acked
            self.counters[self.base + FAILED] = failed


class _Sender:
    """The worker's sending state: packet ids, per-device timestamps, counts."""

    def __init__(self, spec: LoadSpec, topics: list[tuple[int, bytes]]) -> None:
        self.spec, self.topics = spec, topics
        self.wire = Wire(spec.topic_root, spec.community)
        self.bad_every = round(1 / spec.bad_fraction) if spec.bad_fraction > 0 else 0
        self.last_ts = [0] * len(topics)
        self.sent = self.readings = self.bad = 0
        self.pid = 0

    def packet(self, now_ms: int) -> bytes:
        spec = self.spec
        self.pid = self.pid % 65535 + 1
        k = self.sent % len(self.topics)
        self.sent += 1
        if self.bad_every and self.sent % self.bad_every == 0:
            case = nth_case(self.wire, self.bad, now_ms / 1000)
            self.bad += 1
            topic = codec.topic_field(case.topic)
            return codec.publish_qos1(topic, self.pid, case.payload, v5=spec.broker.v5)
        ts = max(now_ms, self.last_ts[k] + spec.batch)  # strictly increasing per device
        if ts - now_ms > MAX_LEAD_MS:
            raise LoadError(
                "timestamps would run ahead of the clock: too few --devices for this rate"
            )
        self.last_ts[k] = ts
        if spec.batch == 1:
            payload = _reading(ts, self.sent)
        else:
            parts = [_reading(ts - spec.batch + 1 + j, self.sent) for j in range(spec.batch)]
            payload = b"[" + b",".join(parts) + b"]"
        self.readings += spec.batch
        return codec.publish_qos1(self.topics[k][1], self.pid, payload, v5=spec.broker.v5)

    def publish(self, counters: MutableSequence[int], base: int) -> None:
        counters[base + SENT] = self.sent
        counters[base + READINGS] = self.readings
        counters[base + BAD] = self.bad


def _send_loop(
    sock: socket.socket, sender: _Sender, acks: _Acks, counters: MutableSequence[int], base: int
) -> None:
    spec = sender.spec
    rate = spec.rate / spec.processes if spec.rate > 0 else 0.0
    start = time.monotonic()
    while True:
        elapsed = time.monotonic() - start
        if elapsed >= spec.duration or acks.error is not None:
            break
        unacked = sender.sent - counters[base + ACKED] - counters[base + FAILED]
        room = spec.window - unacked
        due = (int(elapsed * rate) - sender.sent) if rate else CHUNK
        n = min(due, CHUNK, room)
        if n <= 0:
            ahead = (sender.sent + 1) / rate - elapsed if rate else 0.0
            time.sleep(0.0005 if room <= 0 else max(0.0, min(0.002, ahead)))
            continue
        now_ms = int(time.time() * 1000)
        sock.sendall(b"".join([sender.packet(now_ms) for _ in range(n)]))
        sender.publish(counters, base)
    counters[base + SEND_MS] = round((time.monotonic() - start) * 1000)


def run_worker(spec: LoadSpec, index: int, counters: MutableSequence[int]) -> str | None:
    """Send this worker's share; returns an error line or None."""
    base = index * FIELDS
    topics = _device_topics(spec, index)
    if not topics:
        return None
    try:
        sock = _open(spec, f"load-{index}-{int(time.time() * 1000) % 10**9}")
    except (LoadError, OSError) as exc:
        return str(exc)
    acks = _Acks(sock, counters, base)
    acks.start()
    sender = _Sender(spec, topics)
    try:
        _send_loop(sock, sender, acks, counters, base)
        deadline = time.monotonic() + spec.ack_timeout
        while (
            counters[base + ACKED] + counters[base + FAILED] < sender.sent
            and time.monotonic() < deadline
            and acks.error is None
        ):
            time.sleep(0.01)
        sock.sendall(b"\xe0\x00")  # DISCONNECT: a clean goodbye
    except OSError as exc:
        return f"connection lost: {exc}"
    except LoadError as exc:
        return str(exc)
    finally:
        sender.publish(counters, base)
        sock.close()
        acks.join(2)
    return acks.error
