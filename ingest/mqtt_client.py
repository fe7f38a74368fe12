"""The ingestor's fast path beside paho-mqtt, on paho's public API only.

paho's own receive path reads each packet with three ``recv`` calls and builds
an MQTTMessage, a v5 Properties object and a topic-matcher pass per message,
and ``Client.ack`` sends each PUBACK with its own ``send``: under a full feed
most of the network thread's time. paho owns the connection (CONNECT, SUBSCRIBE,
keep-alive, every packet but the hot ones); the two classes here share its
socket (``Client.socket()``, public, meant for external event loops) with it:

* :class:`PublishReader` *peeks* at the socket (``MSG_PEEK``, 256 KiB),
  decodes the complete PUBLISH packets at its head
  (:func:`ingest.mqtt_wire.scan_publishes`) and only then consumes exactly
  those bytes. A PUBLISH still arriving is ours too: its bytes are taken as
  they come (bytes left in the kernel can close the TCP window for good: a few
  bytes in a large buffer count as the whole buffer). Any other packet is left
  in the socket for ``Client.loop_read``, which reads at most one packet. When
  that packet was cut short, paho reads on alone until one of its callbacks
  (``on_message``, ``on_subscribe``, ``on_connect``) fires: then it has just
  finished a packet. So paho is never in the middle of a packet when the
  reader looks, and no private state of paho is read or written.
* :class:`AckWriter` writes a batch's PUBACKs in one ``send``, only while paho
  has nothing of its own to write (``Client.want_write()``); paho is not asked
  to read or do its housekeeping (which may write) until the acks' last byte
  is out, so the two never interleave on the wire.

Over TLS the socket cannot be peeked at: paho reads (``loop_read``, deliveries
through ``on_message``) and acks (``Client.ack``) itself, at its own speed.
"""

from __future__ import annotations

import enum
import socket
import ssl
import time
from typing import Final

import paho.mqtt.client as mqtt

from ingest.mqtt_wire import (
    HEADER_CUT,
    MALFORMED,
    Delivery,
    decode_publish,
    is_publish,
    packet_size,
    puback_packets,
    scan_publishes,
)

WINDOW: Final = 262144  # bytes peeked at per look
_DRAIN: Final = bytearray(WINDOW)  # where consumed bytes go (already decoded from the peek)


class ProtocolError(Exception):
    """The broker sent a PUBLISH that cannot be read: drop the connection."""


class Turn(enum.Enum):
    """What the consumer does after :meth:`PublishReader.read`."""

    AGAIN = "read again now"
    IDLE = "wait until the socket is readable"
    BLOCKED = "wait until our acks are written: paho's packet is next"
    LOST = "the connection is gone"


class PublishReader:
    """Complete PUBLISH packets at the head of paho's socket, decoded in bulk."""

    def __init__(self, client: mqtt.Client, v5: bool) -> None:
        self._client = client
        self._v5 = v5
        self._sock: object = None
        self._peek: socket.socket | None = None
        self._partial: bytearray | None = None  # a PUBLISH arriving in pieces
        self.paho_owns = False  # paho reads on alone: it began a packet cut short
        self.paho_read_at = 0.0  # monotonic time paho last read a packet

    def attach(self, sock: object) -> None:
        """Follow paho's socket (``Client.socket()``): a new connection starts clean."""
        if sock is self._sock:
            return
        self._sock = sock
        plain = isinstance(sock, socket.socket) and not isinstance(sock, ssl.SSLSocket)
        self._peek = sock if plain else None  # type: ignore[assignment]  # narrowed just above
        self._partial = None
        self.paho_owns = False

    @property
    def fast(self) -> bool:
        """Whether this connection's socket can be peeked at (plain TCP)."""
        return self._peek is not None

    def packet_done(self) -> None:
        """A paho callback fired inside ``loop_read``: paho is between two packets."""
        self.paho_owns = False

    def read(
        self,
        inbox: list[Delivery],
        limit: int,
        now_us: int,
        generation: int,
        paho_may_read: bool,
        *,
        paho_turn: bool = False,
    ) -> Turn:
        """Decode up to ``limit`` PUBLISH packets into ``inbox``, or let paho read its packet.

        ``paho_may_read`` is False while acks of ours are half written: paho's
        handling of a packet may write (a SUBSCRIBE from ``on_connect``).
        ``paho_turn``: paho reads the packet at the head whatever it is, if it is
        whole (a PUBLISH reaches ``on_message``). paho's keep-alive counts only
        the bytes paho itself reads: once it has sent a PINGREQ, it closes the
        link ("Keep alive timeout") unless it reads something within the
        keep-alive, and under a backlog the PINGRESP can sit behind more
        PUBLISHes than that, all of them read here (bench/RESULTS.md, issue 25).
        """
        sock = self._peek
        if sock is None:
            return Turn.IDLE
        if self.paho_owns:
            return self._paho_reads(cut=True)
        if self._partial is not None:
            return self._collect(sock, inbox, now_us, generation)
        try:
            buf = sock.recv(WINDOW, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return Turn.IDLE
        if not buf:  # the broker closed the connection: paho's read says so
            return self._paho_reads(cut=False)
        if paho_turn and paho_may_read and 0 < packet_size(bytes(buf[:5])) <= len(buf):
            return self._paho_reads(cut=False)
        scan = scan_publishes(
            buf,
            0,
            limit,
            v5=self._v5,
            append=inbox.append,
            received_us=now_us,
            generation=generation,
        )
        if scan.end:
            self._consume(sock, scan.end)
        rest = len(buf) - scan.end
        whole = 0 < scan.head_size <= rest or scan.head_size == MALFORMED
        if rest and not whole and is_publish(buf[scan.end]):
            self._partial = bytearray(sock.recv(rest))  # all there is belongs to it
            return Turn.AGAIN
        if rest == 0:
            return Turn.IDLE  # the consumer waits briefly if it holds deliveries
        if scan.decoded:
            return Turn.AGAIN  # paho's packet is at the head: the next look hands it over
        if not paho_may_read:
            return Turn.BLOCKED
        return self._paho_reads(cut=not whole)

    def _collect(
        self, sock: socket.socket, inbox: list[Delivery], now_us: int, generation: int
    ) -> Turn:
        part = self._partial
        assert part is not None
        size = packet_size(bytes(part[:5]))
        if size == MALFORMED:
            raise ProtocolError("a PUBLISH with a remaining length of more than four bytes")
        want = 1 if size == HEADER_CUT else size - len(part)
        try:
            chunk = sock.recv(min(want, WINDOW))
        except (BlockingIOError, InterruptedError):
            return Turn.IDLE
        if not chunk:
            return Turn.LOST
        part += chunk
        if size == HEADER_CUT or len(part) < size:
            return Turn.AGAIN
        self._partial = None
        decoded = decode_publish(bytes(part), self._v5)
        if decoded is None:
            raise ProtocolError(f"a {size}-byte PUBLISH whose fields overrun it")
        topic, payload, mid = decoded
        inbox.append((topic, payload, now_us, mid, generation))
        return Turn.AGAIN

    def _paho_reads(self, cut: bool) -> Turn:
        """paho reads the packet at the head (one packet at most); ``cut``: what there is of it.

        Over a packet cut short paho owns the socket until a callback says it
        finished one: a PUBLISH, SUBACK or CONNACK follows soon (a PINGRESP has
        no callback, but the feed goes on), and it reads everything as it comes,
        so the TCP window stays open.
        """
        self.paho_owns = cut
        self.paho_read_at = time.monotonic()
        if self._client.loop_read() != mqtt.MQTT_ERR_SUCCESS:
            return Turn.LOST
        return Turn.IDLE if self.paho_owns else Turn.AGAIN

    @staticmethod
    def _consume(sock: socket.socket, size: int) -> None:
        consumed = sock.recv_into(_DRAIN, size)
        if consumed != size:  # peeked bytes are there to take: anything else is a bug
            raise ProtocolError(f"consumed {consumed} of {size} peeked bytes")


class AckWriter:
    """A batch's PUBACKs in one write, never interleaved with paho's own packets."""

    def __init__(self, client: mqtt.Client) -> None:
        self._client = client
        self._sock: object = None
        self._tail = b""  # acks not yet written (a partial send)

    def attach(self, sock: object) -> None:
        if sock is not self._sock:
            self._sock, self._tail = sock, b""  # a new connection: old packet ids mean nothing

    @property
    def pending(self) -> bool:
        """Bytes of ours are still to go: paho must not write (nor read) meanwhile."""
        return bool(self._tail)

    def queue(self, mids: list[int]) -> None:
        sock = self._sock
        if isinstance(sock, ssl.SSLSocket) or not isinstance(sock, socket.socket):
            for mid in mids:  # TLS: paho's own acks (an SSL write may not be split)
                self._client.ack(mid, 1)
            return
        self._tail += puback_packets(mids)

    def write(self) -> bool:
        """Write what is pending if paho has nothing queued; False if the link broke."""
        sock = self._sock
        if not self._tail or not isinstance(sock, socket.socket) or self._client.want_write():
            return True
        try:
            sent = sock.send(self._tail)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        self._tail = self._tail[sent:]
        return True
