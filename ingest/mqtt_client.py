"""paho-mqtt's Client with a fast receive path (see ``ingest/consumer.py`` for why).

Two overrides of paho 2.x internals, both exercised end to end by the ingest
tests against a real broker (``paho-mqtt>=2.1,<3`` is pinned):

* ``_sock_recv``: paho asks the socket for 1 byte, then the length bytes,
  then the rest, for every packet; here one ``recv`` of 256 KiB serves them
  from memory.
* ``_handle_publish``: decode topic, packet id and payload straight into a
  delivery tuple ``(topic, payload, received_us, mid, generation)``, skipping
  paho's MQTTMessage, v5 Properties and topic matcher.

And :meth:`BufferedClient.read_publishes`: the complete QoS 0/1 PUBLISH
packets already in the buffer decoded in one tight loop, without paho's
per-packet state machine (a byte slice per length byte, a state dict per
packet, a lock per packet): under a full feed over half of the network
thread's time. Anything else (another packet type, a packet cut by the
buffer's end, anything malformed) is left where it is for paho's own path.
"""

from __future__ import annotations

import time
from typing import Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

Delivery = tuple[str, bytes, int, int, int]
PUBACK: Final = 0x40
# Every PUBACK packet (fixed header, length 2, packet id): a batch of acks is
# one b"".join over this table.
PUBACKS: Final = [bytes((PUBACK, 2, mid >> 8, mid & 0xFF)) for mid in range(65536)]


class BufferedClient(mqtt.Client):
    """paho Client with a buffered socket read and a lean PUBLISH decoder."""

    _rbuf: bytes = b""
    _rpos: int = 0
    _rsock: object = None
    # Set by the Consumer: where deliveries go, and their stamp.
    inbox: list[Delivery]
    now_us: int = 0
    generation: int = 0

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._rsock is not self._sock:  # a new connection: forget old bytes
            self._rbuf, self._rpos, self._rsock = b"", 0, self._sock
        buf, pos = self._rbuf, self._rpos
        if pos >= len(buf):
            buf = super()._sock_recv(262144)
            pos = 0
            if not buf:
                return buf
        end = pos + bufsize
        self._rbuf, self._rpos = buf, min(end, len(buf))
        return buf[pos:end]

    def read_publishes(self, limit: int) -> int:
        """Decode up to ``limit`` buffered PUBLISH packets into ``inbox``; how many."""
        if self._rsock is not self._sock or self._in_packet["command"] != 0:
            return 0  # paho is in the middle of a packet: let it finish it
        buf, pos = self._rbuf, self._rpos
        size = len(buf)
        v5 = self._protocol == mqtt.MQTTv5
        append, now_us, gen = self.inbox.append, self.now_us, self.generation
        count = 0
        while pos < size and count < limit:
            cmd = buf[pos]
            if cmd & 0xF0 != 0x30 or cmd & 0x06 > 2:  # not PUBLISH, or QoS 2
                break
            length, i = _varint(buf, pos + 1, size)
            end = i + length
            if i < 0 or end > size or length < 2:
                break  # cut by the buffer's end, or malformed: paho's path says which
            topic_end = i + 2 + ((buf[i] << 8) | buf[i + 1])
            start, mid = topic_end, 0
            if cmd & 0x06:
                mid = (buf[start] << 8) | buf[start + 1] if start + 2 <= end else -1
                start += 2
            if v5:
                properties, start = _varint(buf, start, end)
                start = start + properties if start >= 0 else end + 1
            if start > end or mid < 0:
                break
            try:
                topic = buf[i + 2 : topic_end].decode("utf-8")
            except UnicodeDecodeError:
                break
            append((topic, buf[start:end], now_us, mid, gen))
            pos = end
            count += 1
        if count:
            self._rpos = pos
            with self._msgtime_mutex:
                self._last_bytes_received = time.monotonic()
        return count

    def buffered(self) -> bool:
        if self._rsock is self._sock and self._rpos < len(self._rbuf):
            return True
        pending = getattr(self._sock, "pending", None)  # TLS: decrypted bytes inside ssl
        return bool(pending and pending())

    def _handle_publish(self) -> MQTTErrorCode:
        """Decode topic, packet id and payload only; v5 properties are skipped.

        paho builds an MQTTMessage and a Properties object and runs its topic
        matcher for every message: over half of its per-message cost. We
        subscribe with QoS 1 and announce no topic aliases, so QoS 2 and
        aliases never come; anything unusual takes paho's own path.
        """
        cmd = self._in_packet["command"]
        data = self._in_packet["packet"]
        qos = (cmd & 0x06) >> 1
        if qos > 1:
            return super()._handle_publish()
        try:
            end = 2 + ((data[0] << 8) | data[1])
            topic = data[2:end].decode("utf-8")
            mid = 0
            if qos:
                mid = (data[end] << 8) | data[end + 1]
                end += 2
            if self._protocol == mqtt.MQTTv5:
                length, mult = 0, 1
                while True:
                    byte = data[end]
                    end += 1
                    length += (byte & 0x7F) * mult
                    mult <<= 7
                    if not byte & 0x80:
                        break
                end += length
        except (IndexError, UnicodeDecodeError):
            return super()._handle_publish()
        if end > len(data):
            return mqtt.MQTT_ERR_PROTOCOL
        self.inbox.append((topic, bytes(data[end:]), self.now_us, mid, self.generation))
        return mqtt.MQTT_ERR_SUCCESS


def _varint(buf: bytes, i: int, end: int) -> tuple[int, int]:
    """MQTT variable byte integer at ``buf[i:]``: (value, next index); index -1 if cut.

    >>> _varint(bytes([0x7F]), 0, 1), _varint(bytes([0xC1, 0x02, 9]), 0, 3)
    ((127, 1), (321, 2))
    >>> _varint(bytes([0x80]), 0, 1)[1], _varint(bytes([0xFF] * 5), 0, 5)[1]
    (-1, -1)
    """
    value = shift = 0
    while i < end and shift < 28:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i
    return 0, -1
