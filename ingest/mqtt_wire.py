"""The MQTT wire as far as the ingestor's fast path reads and writes it, pure.

PUBLISH packets (QoS 0 and 1, MQTT 3.1.1 and 5) decoded from a byte buffer
straight into delivery tuples, and PUBACK packets for a batch of packet ids.
Everything else on the wire (CONNACK, SUBACK, PINGRESP, DISCONNECT, QoS 2,
anything malformed) is left for paho-mqtt to read: :func:`scan_publishes`
stops in front of it and says what is there (:class:`Scan`).

>>> body = b"\\x00\\x03a/b" + b"\\x00\\x07" + b"hi"     # topic "a/b", packet id 7, payload
>>> wire = bytes([0x32, len(body)]) + body + b"\\xd0\\x00"  # ... then a PINGRESP
>>> inbox = []
>>> scan = scan_publishes(wire, 0, 10, v5=False, append=inbox.append, received_us=5, generation=1)
>>> inbox, scan
([('a/b', b'hi', 5, 7, 1)], Scan(end=11, decoded=1, head_size=2, head_publish=False))
>>> scan_publishes(wire[:6], 0, 10, v5=False, append=inbox.append, received_us=5, generation=1)
Scan(end=0, decoded=0, head_size=11, head_publish=True)
>>> puback_packets([7, 256])
b'@\\x02\\x00\\x07@\\x02\\x01\\x00'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final, NamedTuple

Delivery = tuple[str, bytes, int, int, int]
"""``(topic, payload, received_us, packet id, connection generation)``."""

PUBACK: Final = 0x40
# Every PUBACK packet (fixed header, length 2, packet id): a batch of acks is
# one b"".join over this table.
_PUBACKS: Final = [bytes((PUBACK, 2, mid >> 8, mid & 0xFF)) for mid in range(65536)]
HEADER_CUT: Final = -1
"""``Scan.head_size`` when even the head packet's fixed header is incomplete."""
MALFORMED: Final = -2
"""``Scan.head_size`` when the head packet's remaining length is not a valid varint."""


class Scan(NamedTuple):
    """What :func:`scan_publishes` did: decoded ``decoded`` packets up to ``end``.

    ``head_size`` is the whole size of the packet at ``end`` (fixed header
    included): ``0`` when the buffer ends there, :data:`HEADER_CUT` or
    :data:`MALFORMED` otherwise when it cannot be told; ``head_publish``
    whether that packet is a QoS 0/1 PUBLISH.
    """

    end: int
    decoded: int
    head_size: int
    head_publish: bool


def scan_publishes(
    buf: bytes,
    pos: int,
    limit: int,
    *,
    v5: bool,
    append: Callable[[Delivery], object],
    received_us: int,
    generation: int,
) -> Scan:
    """Decode up to ``limit`` complete QoS 0/1 PUBLISH packets from ``buf[pos:]``.

    One tight loop over the buffer, no per-packet state: the fast path's reason
    to exist. Stops at the first packet that is not such a PUBLISH, is cut by
    the buffer's end, or is malformed (a bad topic, a cut packet id or property
    length): that one is for paho, whose errors say what is wrong with it.
    """
    size = len(buf)
    count = 0
    while pos < size and count < limit:
        cmd = buf[pos]
        length, i = varint(buf, pos + 1, size)
        if i < 0:
            return Scan(pos, count, length, False)
        end = i + length
        publish = cmd & 0xF0 == 0x30 and cmd & 0x06 <= 2
        if not publish or end > size or length < 2:
            return Scan(pos, count, end - pos, publish)
        topic_end = i + 2 + ((buf[i] << 8) | buf[i + 1])
        start, mid = topic_end, 0
        if cmd & 0x06:
            mid = (buf[start] << 8) | buf[start + 1] if start + 2 <= end else -1
            start += 2
        if v5:
            properties, start = varint(buf, start, end)
            start = start + properties if start >= 0 else end + 1
        if start > end or mid < 0:
            return Scan(pos, count, end - pos, False)
        try:
            topic = buf[i + 2 : topic_end].decode("utf-8")
        except UnicodeDecodeError:
            return Scan(pos, count, end - pos, False)
        append((topic, buf[start:end], received_us, mid, generation))
        pos = end
        count += 1
    return Scan(pos, count, 0, False) if pos >= size else _head(buf, pos, size, count)


def _head(buf: bytes, pos: int, size: int, count: int) -> Scan:
    """The packet at ``pos`` after the limit was reached: its size, whether PUBLISH."""
    length, i = varint(buf, pos + 1, size)
    if i < 0:
        return Scan(pos, count, length, False)
    cmd = buf[pos]
    return Scan(pos, count, i + length - pos, cmd & 0xF0 == 0x30 and cmd & 0x06 <= 2)


def varint(buf: bytes, i: int, end: int) -> tuple[int, int]:
    """MQTT variable byte integer at ``buf[i:end]``: ``(value, next index)``.

    The index is -1 when the integer cannot be read: then the value is
    :data:`HEADER_CUT` (``end`` came first) or :data:`MALFORMED` (more than four
    bytes).

    >>> varint(bytes([0x7F]), 0, 1), varint(bytes([0xC1, 0x02, 9]), 0, 3)
    ((127, 1), (321, 2))
    >>> varint(bytes([0x80]), 0, 1), varint(bytes([0xFF] * 5), 0, 5)
    ((-1, -1), (-2, -1))
    """
    value = shift = 0
    while i < end:
        if shift >= 28:
            return MALFORMED, -1
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i
    return (MALFORMED, -1) if shift >= 28 else (HEADER_CUT, -1)


def is_publish(cmd: int) -> bool:
    """Whether a fixed header's first byte is a QoS 0/1 PUBLISH (ours to decode)."""
    return cmd & 0xF0 == 0x30 and cmd & 0x06 <= 2


def packet_size(prefix: bytes) -> int:
    """The whole size of the packet that ``prefix`` starts, or :data:`HEADER_CUT`/:data:`MALFORMED`.

    >>> packet_size(b"\\xd0\\x00"), packet_size(b"\\x32"), packet_size(b"\\x32\\x88\\x01\\x00")
    (2, -1, 139)
    """
    length, i = varint(prefix, 1, len(prefix))
    return length if i < 0 else i + length


def decode_publish(packet: bytes, v5: bool) -> tuple[str, bytes, int] | None:
    """``(topic, payload, packet id)`` of one whole PUBLISH; None if its structure is broken.

    A topic that is not UTF-8 is kept as its ``repr`` (as the paho path does),
    so the message reaches the dead letters instead of being resent forever.

    >>> decode_publish(b"\\x32\\x07\\x00\\x01\\xff\\x00\\x09ok", False)
    ("b'\\\\xff'", b'ok', 9)
    >>> decode_publish(b"\\x32\\x03\\x00\\x05a", False) is None
    True
    """
    length, i = varint(packet, 1, len(packet))
    end = i + length
    if i < 0 or end != len(packet) or length < 2:
        return None
    topic_end = i + 2 + ((packet[i] << 8) | packet[i + 1])
    start, mid = topic_end, 0
    if packet[0] & 0x06:
        if start + 2 > end:
            return None
        mid = (packet[start] << 8) | packet[start + 1]
        start += 2
    if v5:
        properties, start = varint(packet, start, end)
        start = start + properties if start >= 0 else end + 1
    if start > end:
        return None
    raw = packet[i + 2 : topic_end]
    try:
        topic = raw.decode("utf-8")
    except UnicodeDecodeError:
        topic = repr(raw)
    return topic, packet[start:end], mid


def puback_packets(mids: Iterable[int]) -> bytes:
    """The PUBACK packets of ``mids``, concatenated: one write for a batch."""
    return b"".join([_PUBACKS[m] for m in mids])
