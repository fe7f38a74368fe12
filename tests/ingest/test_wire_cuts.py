"""The consumer's fast path against a scripted broker that cuts packets anywhere.

A real TCP socket and the real paho client; the "broker" is a few lines that
answer CONNECT and SUBSCRIBE and then write a stream of packets in pieces cut
at every awkward place: inside a PUBLISH's fixed header, its topic, its
payload, a SUBACK, a PINGRESP, and a PUBLISH larger than the reader's window.
Every message must arrive once, whole and in order, and the acks must carry
exactly their packet ids (a byte of ours inside one of paho's packets, or a
byte of paho's read as ours, breaks the stream).
"""

from __future__ import annotations

import itertools
import socket
import struct
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from ingest.consumer import Consumer
from ingest.mqtt_client import WINDOW, PublishReader, Turn
from ingest.mqtt_session import MqttConfig
from ingest.mqtt_wire import Delivery
from tests.ingest.publisher import _varint, publish_packet

CONNACK = b"\x20\x02\x00\x00"
PINGRESP = b"\xd0\x00"


def suback(mid: int) -> bytes:
    return b"\x90\x03" + struct.pack("!H", mid) + b"\x01"


def read_packet(conn: socket.socket) -> bytes:
    """One whole packet from the client (blocking)."""
    head = conn.recv(1)
    length, shift, raw = 0, 0, b""
    while True:
        byte = conn.recv(1)
        raw += byte
        length |= (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            break
    body = b""
    while len(body) < length:
        body += conn.recv(length - len(body))
    return head + raw + body


class ScriptedBroker:
    """Accepts one client, answers CONNECT/SUBSCRIBE, then writes ``pieces`` slowly."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.acked: list[int] = []
        self.other: list[int] = []  # first bytes of client packets that are not PUBACK
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        conn, _ = self._listener.accept()
        self._listener.close()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        assert read_packet(conn)[0] == 0x10  # CONNECT
        conn.sendall(CONNACK)
        subscribe = read_packet(conn)
        assert subscribe[0] == 0x82
        mid = struct.unpack("!H", subscribe[2:4])[0]
        first, *rest = self.pieces
        conn.sendall(first)
        reply = suback(mid)  # the SUBACK itself cut in two
        conn.sendall(reply[:3])
        time.sleep(0.05)
        conn.sendall(reply[3:])
        for piece in rest:
            time.sleep(0.02)  # each piece its own segment, read on its own
            conn.sendall(piece)
        conn.settimeout(10)
        try:
            while True:
                packet = read_packet(conn)
                if packet[0] == 0x40:
                    self.acked.append(struct.unpack("!H", packet[2:4])[0])
                else:
                    self.other.append(packet[0])
        except (OSError, IndexError):
            conn.close()


def cuts(stream: bytes, at: list[int]) -> list[bytes]:
    bounds = [0, *sorted(at), len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def test_every_cut_delivers_each_message_once_and_acks_its_id() -> None:
    deliveries: list[Delivery] = []
    big = b"x" * (WINDOW + 5000)  # larger than one peek
    messages = [
        (b"t/a", b'{"n":1}', 1),
        (b"t/b", b"second", 2),
        (b"t/\xff", b"bad topic", 3),  # not UTF-8: kept (as repr) for the dead letters
        (b"t/big", big, 4),
        (b"t/c", b"after big", 5),
        (b"t/d", b"last", 6),
    ]
    packets = [publish_packet(t, p, m) for t, p, m in messages]
    stream = packets[0] + packets[1] + packets[2]
    offsets = [len(stream) + i for i in (0, 1, 2, 40, len(packets[3]) - 1)]
    stream += packets[3] + PINGRESP + packets[4] + packets[5]
    ping = len(stream) - len(packets[5]) - len(packets[4]) - 1  # between PINGRESP's bytes
    at = [1, 2, len(packets[0]) + 3, len(packets[0]) + 9, *offsets, ping, len(stream) - 2]
    broker = ScriptedBroker([b"", *cuts(stream, at)])
    consumer = Consumer(
        MqttConfig(f"mqtt://127.0.0.1:{broker.port}", "cuts", ["t/#"], protocol="3.1.1"),
        deliveries.extend,
    )
    consumer.start()
    try:
        deadline = time.monotonic() + 20
        while len(deliveries) < len(messages) and time.monotonic() < deadline:
            time.sleep(0.02)
        got = [(t, p, m) for t, p, _, m, _ in deliveries]
        want = [(t.decode("utf-8", "replace"), p, m) for t, p, m in messages]
        want[2] = (repr(b"t/\xff"), b"bad topic", 3)
        assert got == want
        consumer.ack(deliveries)
        deadline = time.monotonic() + 10
        while len(broker.acked) < len(messages) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert broker.acked == [1, 2, 3, 4, 5, 6]
        assert consumer.connected.is_set(), "the connection must survive every cut"
    finally:
        consumer.stop()
    assert set(broker.other) <= {0xC0, 0xE0}, broker.other  # PINGREQ, DISCONNECT only


def test_a_flood_to_a_slow_consumer_keeps_the_window_open() -> None:
    # One big write: TCP cuts it wherever the window ends. A reader that left
    # the start of a cut packet in the kernel while waiting for its rest got
    # no rest: a few bytes in a large buffer count as the whole buffer, the
    # window stays shut, and the stream stalls for good.
    count = 40_000
    stream = b"".join(
        publish_packet(
            b"t/flood/%05d" % i, b'{"v":%d,"pad":"%s"}' % (i, b"p" * (i % 97)), i % 65535 + 1
        )
        for i in range(count)
    )
    broker = ScriptedBroker([b"", stream])
    deliveries: list[Delivery] = []

    def slow_sink(batch: list[Delivery]) -> None:
        deliveries.extend(batch)
        time.sleep(0.002)  # a committer that takes its time: the socket fills

    consumer = Consumer(
        MqttConfig(f"mqtt://127.0.0.1:{broker.port}", "flood", ["t/#"], protocol="3.1.1"),
        slow_sink,
    )
    consumer.start()
    try:
        deadline = time.monotonic() + 30  # 0.8 s here
        while len(deliveries) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(deliveries) == count, f"stalled at {len(deliveries)} of {count}"
        assert [d[0] for d in deliveries[:3]] == ["t/flood/00000", "t/flood/00001", "t/flood/00002"]
        assert deliveries[-1][1].startswith(b'{"v":%d,' % (count - 1))
    finally:
        consumer.stop()


def test_a_publish_cut_short_is_collected_by_the_reader() -> None:
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    reader = PublishReader(mqtt.Client(CallbackAPIVersion.VERSION2), v5=False)
    reader.attach(ours)
    inbox: list[Delivery] = []
    try:
        broker.sendall(publish_packet(b"t/a", b"lone", 1))
        assert reader.read(inbox, 512, 0, 1, True) is Turn.IDLE  # decoded; nothing more there
        assert [d[1] for d in inbox] == [b"lone"]
        packet = publish_packet(b"t/b", b"cut", 2)
        broker.sendall(packet[:5])
        assert reader.read(inbox, 512, 0, 1, True) is Turn.AGAIN  # taken in as it comes
        assert not reader.paho_owns
        broker.sendall(packet[5:])
        assert reader.read(inbox, 512, 0, 1, True) is Turn.AGAIN
        assert [d[1] for d in inbox] == [b"lone", b"cut"]
    finally:
        ours.close()
        broker.close()


def test_varint_of_the_test_publisher_matches_the_reader() -> None:
    # The scripted stream is built with the test publisher's encoder.
    from ingest.mqtt_wire import varint  # noqa: PLC0415

    for n in (0, 127, 128, 16383, 16384, 2_097_151, 268_435_455):
        raw = _varint(n)
        assert varint(raw, 0, len(raw)) == (n, len(raw))
