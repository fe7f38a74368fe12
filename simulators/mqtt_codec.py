"""The few MQTT 3.1.1 / 5 packets the load generator needs, encoded by hand.

The load generator must outpace the ingestor on a shared 2-core machine
while leaving it most of the CPU. paho-mqtt (a tight manual loop) manages
about 27,000 QoS 1 messages/s from one process here; pipelining pre-encoded
PUBLISH packets on a plain socket reaches about 200,000/s for a fraction of
the CPU. Only what load needs is here: CONNECT, QoS 1 PUBLISH, and reading
CONNACK, PUBACK and DISCONNECT (spec sections 3.1-3.4, 3.14).

>>> remaining_length(321)
b'\\xc1\\x02'
>>> pkt = publish_qos1(topic_field("a/b"), 7, b"hi", v5=False)
>>> pkt
b'2\\t\\x00\\x03a/b\\x00\\x07hi'
>>> r = PacketReader()
>>> list(r.feed(b"\\x40\\x02\\x00\\x07\\x40"))
[(4, b'\\x00\\x07')]
>>> list(r.feed(b"\\x02\\x00\\x08"))
[(4, b'\\x00\\x08')]
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

CONNACK, PUBLISH, PUBACK, DISCONNECT = 2, 3, 4, 14


class ProtocolError(Exception):
    """The broker answered something the load generator cannot continue after."""


def remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        digit, n = n & 0x7F, n >> 7
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def utf8_field(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("!H", len(raw)) + raw


topic_field = utf8_field


def connect(
    client_id: str,
    *,
    v5: bool,
    keepalive: int = 60,
    username: str | None = None,
    password: str | None = None,
) -> bytes:
    flags = 0x02  # clean session / clean start: load needs no broker-side state
    if username is not None:
        flags |= 0x80
    if password is not None:
        flags |= 0x40
    var = utf8_field("MQTT") + bytes([5 if v5 else 4, flags]) + struct.pack("!H", keepalive)
    if v5:
        var += b"\x00"  # no properties
    body = var + utf8_field(client_id)
    if username is not None:
        body += utf8_field(username)
    if password is not None:
        body += utf8_field(password)
    return b"\x10" + remaining_length(len(body)) + body


def publish_qos1(topic: bytes, packet_id: int, payload: bytes, *, v5: bool) -> bytes:
    """A QoS 1 PUBLISH; ``topic`` is the encoded field (:func:`topic_field`)."""
    head = topic + struct.pack("!H", packet_id) + (b"\x00" if v5 else b"")
    return b"\x32" + remaining_length(len(head) + len(payload)) + head + payload


def connack_ok(body: bytes) -> tuple[bool, int]:
    """(accepted, return/reason code) of a CONNACK body."""
    code = body[1] if len(body) > 1 else 255
    return code == 0, code


def puback_failed(body: bytes) -> bool:
    """MQTT 5 PUBACK reason codes >= 0x80 are refusals (e.g. not authorized)."""
    return len(body) > 2 and body[2] >= 0x80


class PacketReader:
    """Splits a byte stream into (packet type, body) pairs."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> Iterator[tuple[int, bytes]]:
        self._buf += data
        buf = self._buf
        pos = 0
        while True:
            if len(buf) - pos < 2:
                break
            length, shift, i = 0, 0, pos + 1
            while True:
                if i >= len(buf):
                    length = -1
                    break
                byte = buf[i]
                length |= (byte & 0x7F) << shift
                i += 1
                if not byte & 0x80:
                    break
                shift += 7
                if shift > 21:
                    raise ProtocolError("malformed remaining length from the broker")
            if length < 0 or len(buf) - i < length:
                break
            yield buf[pos] >> 4, bytes(buf[i : i + length])
            pos = i + length
        del buf[:pos]
